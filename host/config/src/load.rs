//! Reading config files into a typed [`Config`]: read, parse YAML, expand `${env:…}`, merge,
//! parse every component into its settings, validate — collecting every error on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use crate::error::{ConfigError, ConfigErrors};
use crate::expand::{Env, expand_tree, key_text};
use crate::id::ComponentId;
use crate::merge::{has_path, merge};
use crate::model::*;
use crate::registry::{Known, Section, lookup};
use crate::validate::validate;

/// Load, merge and validate config files (later files override earlier keys; lists are replaced).
pub fn load(paths: &[impl AsRef<Path>]) -> Result<Config, ConfigErrors> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(text) => docs.push((Some(path.to_owned()), text)),
            Err(e) => errors.push(ConfigError {
                file: Some(path.to_owned()),
                path: String::new(),
                message: format!("cannot read config file: {e}"),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    load_documents(docs, &|name| std::env::var(name).ok())
}

/// Load one YAML document (tests, `--config` given inline).
pub fn load_str(yaml: &str) -> Result<Config, ConfigErrors> {
    load_documents(vec![(None, yaml.to_owned())], &|name| {
        std::env::var(name).ok()
    })
}

/// Load documents with an explicit environment (tests).
pub fn load_documents(
    docs: Vec<(Option<PathBuf>, String)>,
    env: Env<'_>,
) -> Result<Config, ConfigErrors> {
    let mut parsed: Vec<(Option<PathBuf>, Value)> = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in docs {
        let mut doc_errors = Vec::new();
        match serde_yaml::from_str::<Value>(&text) {
            Ok(mut value) => {
                expand_tree(&mut value, "", env, &mut doc_errors);
                parsed.push((file.clone(), value));
            }
            Err(e) => doc_errors.push(ConfigError::new("", format!("invalid YAML: {e}"))),
        }
        for mut e in doc_errors {
            e.file = file.clone();
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }

    let mut merged = Value::Mapping(Mapping::new());
    for (_, value) in &parsed {
        merge(&mut merged, value.clone());
    }
    let mut declared = Declared::default();
    let mut config = parse_config(&merged, &mut declared, &mut errors);
    config.sources = parsed.iter().filter_map(|(f, _)| f.clone()).collect();
    validate(&config, &declared, &mut errors);
    if errors.is_empty() {
        return Ok(config);
    }
    for e in &mut errors {
        if e.file.is_none() {
            e.file = parsed
                .iter()
                .rev()
                .find(|(_, v)| has_path(v, &e.path))
                .or(parsed.last())
                .and_then(|(f, _)| f.clone());
        }
    }
    Err(ConfigErrors(errors))
}

/// Every component id written in the config, parsed or not: references to a component whose
/// settings are broken are not reported a second time as "not defined".
#[derive(Default)]
pub(crate) struct Declared(pub(crate) BTreeSet<(&'static str, ComponentId)>);

impl Declared {
    pub(crate) fn contains(&self, section: &'static str, id: &ComponentId) -> bool {
        self.0.contains(&(section, id.clone()))
    }
}

fn parse_config(root: &Value, declared: &mut Declared, errors: &mut Vec<ConfigError>) -> Config {
    let mut config = Config::default();
    let Some(map) = root.as_mapping() else {
        if !root.is_null() {
            errors.push(ConfigError::new("", "the config must be a YAML mapping"));
        }
        return config;
    };
    for (key, value) in map {
        let key = key_text(key);
        match key.as_str() {
            "service" => {
                if let Some(service) = typed::<ServiceSettings>(value, "service", errors) {
                    config.service = service;
                }
            }
            other => match Section::ALL.iter().find(|s| s.key() == other) {
                Some(&section) => parse_section(section, value, &mut config, declared, errors),
                None => errors.push(ConfigError::new(
                    key.clone(),
                    "unknown top-level key (expected receivers, processors, exporters, \
                     connectors, extensions, service)",
                )),
            },
        }
    }
    config
}

fn parse_section(
    section: Section,
    value: &Value,
    config: &mut Config,
    declared: &mut Declared,
    errors: &mut Vec<ConfigError>,
) {
    let Some(map) = value.as_mapping() else {
        if !value.is_null() {
            errors.push(ConfigError::new(
                section.key(),
                "must be a mapping of component ids to settings",
            ));
        }
        return;
    };
    for (key, settings) in map {
        let key = key_text(key);
        let path = format!("{}.{key}", section.key());
        let id: ComponentId = match key.parse() {
            Ok(id) => id,
            Err(message) => {
                errors.push(ConfigError::new(path, message));
                continue;
            }
        };
        declared.0.insert((section.key(), id.clone()));
        match lookup(section, id.kind()) {
            Known::Supported => {}
            Known::Planned => {
                errors.push(ConfigError::new(
                    path,
                    format!("{} {:?}: not supported yet", section.noun(), id.kind()),
                ));
                continue;
            }
            Known::Unknown => {
                errors.push(ConfigError::new(
                    path,
                    format!(
                        "unknown {} type {:?} (supported: {})",
                        section.noun(),
                        id.kind(),
                        section.supported().join(", ")
                    ),
                ));
                continue;
            }
        }
        parse_component(section, id, settings, &path, config, errors);
    }
}

fn parse_component(
    section: Section,
    id: ComponentId,
    settings: &Value,
    path: &str,
    config: &mut Config,
    errors: &mut Vec<ConfigError>,
) {
    macro_rules! put {
        ($map:ident, $variant:path) => {
            if let Some(s) = typed(settings, path, errors) {
                config.$map.insert(id, $variant(s));
            }
        };
    }
    match (section, id.kind()) {
        (Section::Receivers, "otlp") => put!(receivers, Receiver::Otlp),
        (Section::Processors, "batch") => put!(processors, Processor::Batch),
        (Section::Processors, "memory_limiter") => put!(processors, Processor::MemoryLimiter),
        (Section::Processors, "transform") => put!(processors, Processor::Transform),
        (Section::Processors, "wasm") => put!(processors, Processor::Wasm),
        (Section::Processors, "probabilistic_sampler") => {
            put!(processors, Processor::ProbabilisticSampler)
        }
        (Section::Processors, "tail_sampling") => put!(processors, Processor::TailSampling),
        (Section::Processors, "tenant_processors") => {
            put!(processors, Processor::TenantProcessors)
        }
        (Section::Connectors, "spanmetrics") => put!(connectors, Connector::SpanMetrics),
        (Section::Exporters, "debug") => put!(exporters, Exporter::Debug),
        (Section::Exporters, "file") => put!(exporters, Exporter::File),
        (Section::Exporters, "otlp" | "otlp_grpc") => put!(exporters, Exporter::OtlpGrpc),
        (Section::Exporters, "otlphttp" | "otlp_http") => put!(exporters, Exporter::OtlpHttp),
        (Section::Exporters, "loki") => put!(exporters, Exporter::Loki),
        (Section::Exporters, "prometheus") => put!(exporters, Exporter::Prometheus),
        (Section::Exporters, "prometheusremotewrite") => {
            put!(exporters, Exporter::PrometheusRemoteWrite)
        }
        (Section::Exporters, "nop") => {
            config.exporters.insert(id, Exporter::Nop);
        }
        (Section::Extensions, "health_check") => put!(extensions, Extension::HealthCheck),
        (Section::Extensions, "basicauth") => put!(extensions, Extension::BasicAuth),
        (Section::Extensions, "bearertokenauth") => put!(extensions, Extension::BearerTokenAuth),
        (Section::Extensions, "file_storage") => put!(extensions, Extension::FileStorage),
        (Section::Extensions, "tenancy") => put!(extensions, Extension::Tenancy),
        (Section::Extensions, "headers_setter") => put!(extensions, Extension::HeadersSetter),
        _ => errors.push(ConfigError::new(
            path,
            format!("{} {:?}: not supported yet", section.noun(), id.kind()),
        )),
    }
}

/// Deserialize `value` (null means "all defaults") into `T`, reporting the exact YAML path of a
/// failure below `path`.
fn typed<T: DeserializeOwned>(
    value: &Value,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let value = if value.is_null() {
        Value::Mapping(Mapping::new())
    } else {
        value.clone()
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let full = match inner.as_str() {
                "." | "" => path.to_owned(),
                inner => format!("{path}.{inner}"),
            };
            errors.push(ConfigError::new(full, e.into_inner().to_string()));
            None
        }
    }
}

/// Component ids by section, for validation messages.
pub(crate) fn ids<V>(map: &BTreeMap<ComponentId, V>) -> String {
    map.keys()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
