//! What the `file` exporter wrote: OTLP/JSON, one export request per line.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// The parsed lines of a file exporter's output.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub lines: Vec<Value>,
}

impl Output {
    /// Read `path` now. A missing file is empty output; a line that is not JSON is an error
    /// (except a last line still being written).
    pub fn read(path: &Path) -> Result<Output> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Output::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let complete = match text.rfind('\n') {
            Some(end) => &text[..end],
            None => "",
        };
        let lines = complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).with_context(|| {
                    format!("{} line {}: not JSON: {l:.200}", path.display(), i + 1)
                })
            })
            .collect::<Result<_>>()?;
        Ok(Output { lines })
    }

    /// Every span in every line.
    pub fn spans(&self) -> Vec<&Value> {
        self.items("resourceSpans", "scopeSpans", "spans")
    }

    /// Every metric in every line.
    pub fn metrics(&self) -> Vec<&Value> {
        self.items("resourceMetrics", "scopeMetrics", "metrics")
    }

    /// Every log record in every line.
    pub fn log_records(&self) -> Vec<&Value> {
        self.items("resourceLogs", "scopeLogs", "logRecords")
    }

    pub fn span_names(&self) -> Vec<String> {
        self.spans()
            .iter()
            .filter_map(|s| str_at(s, "name"))
            .collect()
    }

    pub fn metric_names(&self) -> Vec<String> {
        self.metrics()
            .iter()
            .filter_map(|m| str_at(m, "name"))
            .collect()
    }

    /// String bodies of every log record.
    pub fn log_bodies(&self) -> Vec<String> {
        self.log_records()
            .iter()
            .filter_map(|l| l.pointer("/body/stringValue").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    /// Values of resource attribute `key` (string values), over every signal.
    pub fn resource_attribute(&self, key: &str) -> Vec<String> {
        let mut values = Vec::new();
        for line in &self.lines {
            for signal in ["resourceSpans", "resourceMetrics", "resourceLogs"] {
                for resource in array(line, signal) {
                    let attributes = resource.pointer("/resource/attributes");
                    values.extend(string_attribute(attributes, key));
                }
            }
        }
        values
    }

    /// Nothing of any signal arrived.
    pub fn is_empty(&self) -> bool {
        self.spans().is_empty() && self.metrics().is_empty() && self.log_records().is_empty()
    }

    fn items(&self, resources: &str, scopes: &str, items: &str) -> Vec<&Value> {
        self.lines
            .iter()
            .flat_map(|line| array(line, resources))
            .flat_map(|r| array(r, scopes))
            .flat_map(|s| array(s, items))
            .collect()
    }
}

/// String value of attribute `key` in an OTLP/JSON attribute list.
pub fn string_attribute(attributes: Option<&Value>, key: &str) -> Option<String> {
    attributes?
        .as_array()?
        .iter()
        .find(|kv| kv.get("key").and_then(Value::as_str) == Some(key))?
        .pointer("/value/stringValue")?
        .as_str()
        .map(str::to_owned)
}

fn array<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn str_at(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}
