//! `tenant_processors` with real guests.

mod app;
mod isolation;
mod reload;
mod support;
