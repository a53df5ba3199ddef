//! A loaded processor version: compiled, linked, and checked by instantiating it once,
//! calling `init` and processing an empty batch of each signal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice_pipeline::Signal;

use crate::codec;
use crate::compiled::CompileError;
use crate::engine::Runtime;
use crate::errors::WasmError;
use crate::host::GuestLog;
use crate::instance::{Blueprint, Instance, Processed, StartError};
use crate::limits::Limits;

/// Where a component comes from.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// A `.wasm` component file.
    Path(PathBuf),
    /// The component's bytes.
    Bytes(Arc<[u8]>),
}

/// What happens to a batch when the processor fails on it (trap, deadline, memory cap,
/// malformed output, process error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// Forward the batch exactly as it arrived (default: nothing is lost silently).
    #[default]
    Pass,
    /// Discard the batch (counted as dropped).
    Drop,
}

/// One processor version to load.
#[derive(Debug, Clone)]
pub struct ProcessorSpec {
    /// The processor's component id, used in logs and metrics: `transform/add_tags`.
    pub name: String,
    pub component: ComponentSource,
    /// The processor's `config:` as JSON (`{}` when absent), passed to the guest's `init`.
    pub config_json: String,
    pub limits: Limits,
    pub on_error: OnError,
    /// The tenant this version serves alone (a `tenant_processors` chain), shown with the
    /// processor in logs, errors and metrics (`tenant` label); `None` for a shared processor.
    pub tenant: Option<String>,
    /// How much of a `replaced` batch is checked before it goes on.
    pub output_check: OutputCheck,
}

/// How much of the bytes a guest returns as `replaced` the host checks on the hot path.
/// Whatever fails the check is `malformed_output`: the batch follows `on_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputCheck {
    /// Check that the whole request decodes: any component. The request is checked without
    /// decoding it (`sluice_pipeline::wire::validate`, which accepts exactly what the decoder
    /// accepts).
    #[default]
    Decode,
    /// Walk the protobuf framing down to the items and count them, without decoding: for
    /// Sluice's built-in guests, whose output the project's tests check against the decoded
    /// path. A stage that decodes later would still refuse bad contents, as invalid data.
    Framing,
}

impl ProcessorSpec {
    /// How errors name this processor: `transform/acme` or `transform/acme (tenant acme)`.
    pub fn display_name(&self) -> String {
        match &self.tenant {
            Some(tenant) => format!("{} (tenant {tenant})", self.name),
            None => self.name.clone(),
        }
    }
}

/// A loaded, checked processor version, ready to serve (see [`Runtime::load`]). Cheap to
/// clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) blueprint: Blueprint,
    pub(crate) on_error: OnError,
    pub(crate) flush_interval: Option<Duration>,
    pub(crate) environment: Option<String>,
}

impl Module {
    /// The processor's name.
    pub fn name(&self) -> &str {
        &self.inner.blueprint.name
    }

    /// The tenant this version serves alone, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.inner.blueprint.tenant.as_deref()
    }

    /// How often the guest asked to be flushed (`ready.flush-interval-ms`).
    pub fn flush_interval(&self) -> Option<Duration> {
        self.inner.flush_interval
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.blueprint.limits
    }

    pub fn on_error(&self) -> OnError {
        self.inner.on_error
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .field("tenant", &self.tenant())
            .field("limits", self.limits())
            .field("on_error", &self.on_error())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Compiles and checks one processor version: reads and compiles the component (or finds
    /// it already compiled for another version with the same bytes), links it, instantiates it once, calls `init` with the config, and processes an empty request
    /// of each signal. The check instance is discarded.
    ///
    /// Returns the module and `init`'s warnings (`path: message`), which the caller logs
    /// once at WARN naming the processor. CPU-heavy (compiling takes 50–150 ms for a
    /// 100 KiB component): call it off the async executor (`spawn_blocking`).
    pub fn load(&self, spec: &ProcessorSpec) -> Result<(Module, Vec<String>), WasmError> {
        let processor = spec.display_name();
        let bytes: Arc<[u8]> = match &spec.component {
            ComponentSource::Path(path) => std::fs::read(path)
                .map_err(|source| WasmError::Read {
                    processor: processor.clone(),
                    path: path.clone(),
                    source,
                })?
                .into(),
            ComponentSource::Bytes(bytes) => bytes.clone(),
        };
        let compiled = self
            .inner
            .compiled
            .get_or_compile(&self.inner.engine, &self.inner.linker, &bytes)
            .map_err(|e| match e {
                CompileError::Compile(message) => WasmError::Compile {
                    processor: processor.clone(),
                    message,
                },
                CompileError::Link(message) => WasmError::Link {
                    processor: processor.clone(),
                    message,
                },
            })?;
        drop(bytes);
        let name: Arc<str> = spec.name.as_str().into();
        let tenant: Option<Arc<str>> = spec.tenant.as_deref().map(Into::into);
        let blueprint = Blueprint {
            log: Arc::new(GuestLog::new(name.clone(), tenant.clone())),
            name,
            tenant,
            engine: self.inner.engine.clone(),
            ticker: self.inner.ticker.state(),
            compiled,
            config_json: spec.config_json.clone(),
            limits: spec.limits.clone(),
            output_check: spec.output_check,
        };

        let (mut instance, ready) = Instance::start(&blueprint, 0).map_err(|e| match e {
            StartError::Instantiate(message) => WasmError::Instantiate {
                processor: processor.clone(),
                message,
            },
            StartError::Rejected(problems) => WasmError::ConfigRejected {
                processor: processor.clone(),
                problems,
            },
            StartError::Trapped(e) => WasmError::Init {
                processor: processor.clone(),
                message: e.to_string(),
            },
        })?;
        let environment = self.inner.environment.clone();
        let context = codec::context_to_wit(&Default::default(), environment.as_deref());
        for signal in Signal::ALL {
            let call = instance.process(
                &blueprint,
                spec.limits.timeout,
                signal,
                &context,
                &[],
                [false; 3],
            );
            let smoke_error = |message: String| WasmError::Smoke {
                processor: processor.clone(),
                signal: signal.as_str(),
                message,
            };
            match call.result {
                // Off the hot path, replaced bytes are decoded in full.
                Ok(Processed::Replaced(payload)) => {
                    if let Err(e) = payload.into_decoded() {
                        return Err(smoke_error(e.to_string()));
                    }
                }
                Ok(Processed::Unchanged | Processed::Dropped) => {}
                Err(e) => return Err(smoke_error(e.to_string())),
            }
        }

        let warnings = ready
            .warnings
            .into_iter()
            .map(|w| {
                if w.path.is_empty() {
                    w.message
                } else {
                    format!("{}: {}", w.path, w.message)
                }
            })
            .collect();
        let module = Module {
            inner: Arc::new(ModuleInner {
                blueprint,
                on_error: spec.on_error,
                flush_interval: ready
                    .flush_interval_ms
                    .map(|ms| Duration::from_millis(u64::from(ms))),
                environment,
            }),
        };
        Ok((module, warnings))
    }
}
