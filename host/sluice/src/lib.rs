//! Sluice's host: turns a validated [`sluice_config::Config`] into running receivers, pipelines,
//! exporters and extensions ([`app`]), and stops them without losing acknowledged data.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod commands;
pub mod environment;
pub mod extensions;
pub mod health;
pub mod telemetry;
