//! Extensions that are not authenticators (those live in `sluice-auth`).

pub mod health_check;
