//! Configuration problems and a serde helper that names where each one is.

use std::fmt;

use serde::de::DeserializeOwned;

/// One problem in a processor's configuration (the WIT `config-problem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where in the processor's `config:`: `metric_statements[0].statements[2]`, or empty.
    pub path: String,
    /// What is wrong and how to fix it, on one line.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path` (empty for the whole config).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Deserializes `config_json` into `T`, naming the path of the first problem serde finds
/// (`patterns[2]: invalid type: integer `3`, expected a string`). Use
/// `#[serde(deny_unknown_fields)]` on `T` so typos are reported rather than ignored.
pub fn parse<T: DeserializeOwned>(config_json: &str) -> Result<T, Vec<ConfigProblem>> {
    let de = &mut serde_json::Deserializer::from_str(config_json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        vec![ConfigProblem::new(
            path,
            strip_position(&e.into_inner().to_string()),
        )]
    })
}

/// serde_json appends ` at line L column C`, which means nothing to someone who wrote YAML.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        #[allow(dead_code)]
        patterns: Vec<String>,
    }

    #[test]
    fn parse_names_the_path_and_drops_json_positions() {
        let err = parse::<Cfg>(r#"{"patterns": ["a", 3]}"#).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, "patterns[1]");
        assert!(
            err[0].message.starts_with("invalid type: integer `3`"),
            "{}",
            err[0].message
        );
        assert!(!err[0].message.contains("line"), "{}", err[0].message);
    }

    #[test]
    fn parse_reports_unknown_fields_at_the_root() {
        let err = parse::<Cfg>(r#"{"patterns": [], "paterns": []}"#).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "paterns: unknown field `paterns`, expected `patterns`"
        );
    }
}
