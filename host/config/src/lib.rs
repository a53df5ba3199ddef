//! Sluice's configuration, in the OpenTelemetry Collector's YAML shape.
//!
//! [`load`] reads one or more files (later files override earlier keys; lists are replaced),
//! expands `${env:VAR}` references, parses every component into its typed settings and checks
//! the whole graph, reporting every problem at once, each naming its file and YAML path.
//! This crate needs neither tokio nor wasmtime, so it builds and tests quickly.
#![forbid(unsafe_code)]

mod error;
mod expand;
mod id;
mod load;
mod merge;
pub mod model;
mod registry;
mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use id::{ComponentId, PipelineId, Signal};
pub use load::{load, load_documents, load_str};
pub use model::*;
pub use validate::{TENANT_ID_RULE, is_tenant_id};
