//! `${env:VAR}`, `${VAR}` and `${env:VAR:-default}` expansion in string values, with `$$` as an
//! escaped `$`, as the Collector's confmap does.
//!
//! A value that is exactly one reference takes the type of what it expands to (`limit_mib:
//! ${env:MEM}` with `MEM=1024` is the integer 1024); a reference inside a longer string is
//! spliced in as text. Unlike the Collector, a variable that is not set and has no default is an
//! error, not a silent empty string.

use serde_yaml::Value;

use crate::error::ConfigError;

/// Looks a variable up (the process environment in production, a map in tests).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expand every string scalar under `value`; `path` is the dotted path of `value`.
pub(crate) fn expand_tree(
    value: &mut Value,
    path: &str,
    env: Env<'_>,
    errors: &mut Vec<ConfigError>,
) {
    match value {
        Value::String(s) => match expand_scalar(s, env) {
            Ok(Some(expanded)) => *value = expanded,
            Ok(None) => {}
            Err(message) => errors.push(ConfigError::new(path, message)),
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{path}[{i}]"), env, errors);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key_text(key);
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                expand_tree(item, &child, env, errors);
            }
        }
        Value::Tagged(tagged) => expand_tree(&mut tagged.value, path, env, errors),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The text of a mapping key, for paths.
pub(crate) fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// `Ok(None)` when the string holds nothing to expand.
fn expand_scalar(s: &str, env: Env<'_>) -> Result<Option<Value>, String> {
    if !s.contains('$') {
        return Ok(None);
    }
    let pieces = parse(s)?;
    if let [Piece::Reference(reference)] = pieces.as_slice() {
        let text = resolve(reference, env)?;
        return Ok(Some(typed(&text)));
    }
    let mut out = String::with_capacity(s.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Reference(r) => out.push_str(&resolve(&r, env)?),
        }
    }
    Ok(Some(Value::String(out)))
}

/// A whole-value expansion is read as a YAML scalar, so numbers and booleans keep their type.
fn typed(text: &str) -> Value {
    match serde_yaml::from_str::<Value>(text) {
        Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
        _ => Value::String(text.to_owned()),
    }
}

#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Reference(String),
}

fn parse(s: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        text.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            text.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').ok_or_else(|| {
                format!("unterminated \"${{\" in {s:?} (write $$ for a literal $)")
            })?;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Reference(inner[..end].to_owned()));
            rest = &inner[end + 1..];
        } else {
            // A bare `$VAR` is left alone, as the Collector does today.
            text.push('$');
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn resolve(reference: &str, env: Env<'_>) -> Result<String, String> {
    let body = match reference.split_once(':') {
        Some(("env", body)) => body,
        Some((scheme, _))
            if !scheme.contains('-') && scheme.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            return Err(format!(
                "\"${{{reference}}}\": the {scheme:?} provider is not supported (only env)"
            ));
        }
        _ => reference,
    };
    let (name, default) = match body.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!(
            "\"${{{reference}}}\": {name:?} is not a valid variable name"
        ));
    }
    match (env(name), default) {
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_owned()),
        (None, None) => Err(format!(
            "environment variable {name} is not set (set it, or give a default: ${{env:{name}:-value}})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("collector".into()),
            "MEM" => Some("1024".into()),
            "ON" => Some("true".into()),
            _ => None,
        }
    }

    fn expand(s: &str) -> Result<Value, String> {
        Ok(expand_scalar(s, &env)?.unwrap_or_else(|| Value::String(s.into())))
    }

    #[test]
    fn expands_all_reference_forms() {
        assert_eq!(
            expand("${env:HOST}:4317").unwrap(),
            Value::String("collector:4317".into())
        );
        assert_eq!(
            expand("${HOST}").unwrap(),
            Value::String("collector".into())
        );
        assert_eq!(
            expand("${env:NOPE:-/etc/htpasswd}").unwrap(),
            Value::String("/etc/htpasswd".into())
        );
        assert_eq!(
            expand("${env:HOST:-x}").unwrap(),
            Value::String("collector".into())
        );
    }

    #[test]
    fn whole_value_reference_keeps_its_type() {
        assert_eq!(expand("${env:MEM}").unwrap(), Value::Number(1024.into()));
        assert_eq!(expand("${env:ON}").unwrap(), Value::Bool(true));
        assert_eq!(
            expand("x${env:MEM}").unwrap(),
            Value::String("x1024".into())
        );
    }

    #[test]
    fn double_dollar_escapes() {
        assert_eq!(
            expand("$${env:HOST}").unwrap(),
            Value::String("${env:HOST}".into())
        );
        assert_eq!(expand("a$$b").unwrap(), Value::String("a$b".into()));
        assert_eq!(expand("$HOME").unwrap(), Value::String("$HOME".into()));
    }

    #[test]
    fn unset_variable_and_bad_syntax_are_errors() {
        assert!(
            expand("${env:NOPE}")
                .unwrap_err()
                .contains("NOPE is not set")
        );
        assert!(expand("${env:HOST").unwrap_err().contains("unterminated"));
        assert!(expand("${file:/x}").unwrap_err().contains("not supported"));
        assert!(
            expand("${env:A B}")
                .unwrap_err()
                .contains("not a valid variable name")
        );
    }
}
