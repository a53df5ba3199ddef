//! Editors: the functions that change telemetry. Each returns whether it changed anything.

use regex_lite::{Captures, Regex};
use sluice_guest_sdk::otlp::{AnyValue, KeyValue};

use super::{Func, StrFunc, args};
use crate::ottl::EvalError;
use crate::ottl::eval::eval;
use crate::ottl::paths::{self, CPath};
use crate::ottl::program::Call;
use crate::ottl::target::Target;
use crate::ottl::value::Value;

pub fn run(call: &Call, t: &mut Target) -> Result<bool, EvalError> {
    let a = &call.args;
    match call.func {
        Func::Set => {
            let v = eval(args::expr(a, 1)?, t)?;
            paths::set(args::path(a, 0)?, t, v)
        }
        Func::DeleteKey => {
            let key = args::string(a, 1)?.unwrap_or_default();
            retain(args::path(a, 0)?, t, |kv| kv.key != key)
        }
        Func::DeleteMatchingKeys => {
            let re = args::regex(a, 1)?;
            retain(args::path(a, 0)?, t, |kv| !re.is_match(&kv.key))
        }
        Func::KeepKeys => {
            let keys = args::strs(a, 1)?;
            retain(args::path(a, 0)?, t, |kv| keys.contains(&kv.key))
        }
        Func::KeepMatchingKeys => {
            let re = args::regex(a, 1)?;
            retain(args::path(a, 0)?, t, |kv| re.is_match(&kv.key))
        }
        Func::Limit => limit(args::path(a, 0)?, t, args::int(a, 1)?, args::strs(a, 2)?),
        Func::TruncateAll => {
            let marker = args::string(a, 3)?.unwrap_or_default();
            truncate_all(args::path(a, 0)?, t, args::int(a, 1)?, marker)
        }
        Func::ReplacePattern | Func::ReplaceMatch => {
            let target = args::path(a, 0)?;
            let Value::Str(s) = paths::get(target, t)? else {
                return Ok(false);
            };
            let replacement = Replacement::new(call, t)?;
            let re = args::regex(a, 1)?;
            let new = if call.func == Func::ReplaceMatch {
                if !re.is_match(&s) {
                    return Ok(false);
                }
                replacement.plain()
            } else {
                replacement.apply(re, &s)
            };
            if new == s {
                Ok(false)
            } else {
                paths::set(target, t, Value::Str(new))
            }
        }
        Func::ReplaceAllPatterns => {
            let replacement = Replacement::new(call, t)?;
            let re = args::regex(a, 2)?;
            let by_key = args::string(a, 1)? == Some("key");
            let Some(map) = paths::map_mut(args::path(a, 0)?, t)? else {
                return Ok(false);
            };
            Ok(if by_key {
                rename_keys(map, |k| replacement.apply(re, k))
            } else {
                edit_strings(map, |s| Some(replacement.apply(re, s)))
            })
        }
        Func::ReplaceAllMatches => {
            let replacement = Replacement::new(call, t)?;
            let re = args::regex(a, 1)?;
            let Some(map) = paths::map_mut(args::path(a, 0)?, t)? else {
                return Ok(false);
            };
            Ok(edit_strings(map, |s| {
                re.is_match(s).then(|| replacement.plain())
            }))
        }
        Func::MergeMaps => {
            let source = match eval(args::expr(a, 1)?, t)? {
                Value::Map(m) => m,
                Value::Nil => return Ok(false),
                other => {
                    return Err(EvalError(format!(
                        "merge_maps: source must be a map, got {}",
                        other.type_name()
                    )));
                }
            };
            let strategy = args::string(a, 2)?.unwrap_or("upsert");
            let Some(map) = paths::map_mut(args::path(a, 0)?, t)? else {
                return Ok(false);
            };
            Ok(merge(map, source, strategy))
        }
        converter => Err(EvalError(format!(
            "internal: {converter:?} is not an editor"
        ))),
    }
}

fn retain(
    path: &CPath,
    t: &mut Target,
    keep: impl FnMut(&KeyValue) -> bool,
) -> Result<bool, EvalError> {
    let Some(map) = paths::map_mut(path, t)? else {
        return Ok(false);
    };
    let before = map.len();
    map.retain(keep);
    Ok(map.len() != before)
}

/// Keeps at most `limit` entries: the priority keys first, then others in order.
fn limit(path: &CPath, t: &mut Target, limit: i64, priority: &[String]) -> Result<bool, EvalError> {
    let Some(map) = paths::map_mut(path, t)? else {
        return Ok(false);
    };
    let limit = usize::try_from(limit).unwrap_or(0);
    if map.len() <= limit {
        return Ok(false);
    }
    let mut kept = map.iter().filter(|kv| priority.contains(&kv.key)).count();
    map.retain(|kv| {
        if priority.contains(&kv.key) {
            return true;
        }
        kept += 1;
        kept <= limit
    });
    Ok(true)
}

fn truncate_all(path: &CPath, t: &mut Target, limit: i64, marker: &str) -> Result<bool, EvalError> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let Some(map) = paths::map_mut(path, t)? else {
        return Ok(false);
    };
    Ok(edit_strings(map, |s| {
        if s.len() <= limit {
            return None;
        }
        // Always cut on a character boundary: protobuf strings must stay valid UTF-8.
        let mut end = limit.saturating_sub(marker.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Some(format!("{}{marker}", &s[..end]))
    }))
}

/// Applies `edit` to every string value; `None` keeps the value.
fn edit_strings(map: &mut [KeyValue], mut edit: impl FnMut(&str) -> Option<String>) -> bool {
    let mut changed = false;
    for kv in map {
        let Some(s) = kv.value.as_ref().and_then(AnyValue::as_str) else {
            continue;
        };
        if let Some(new) = edit(s).filter(|new| new != s) {
            kv.value = Some(AnyValue::string(new));
            changed = true;
        }
    }
    changed
}

/// Renames every key through `rename`; a renamed key replaces an existing one.
fn rename_keys(map: &mut Vec<KeyValue>, rename: impl Fn(&str) -> String) -> bool {
    let mut changed = false;
    let mut out: Vec<KeyValue> = Vec::with_capacity(map.len());
    for mut kv in map.drain(..) {
        let new = rename(&kv.key);
        if new != kv.key {
            changed = true;
            kv.key = new;
        }
        match out.iter_mut().find(|o| o.key == kv.key) {
            Some(existing) => *existing = kv,
            None => out.push(kv),
        }
    }
    *map = out;
    changed
}

fn merge(map: &mut Vec<KeyValue>, source: Vec<KeyValue>, strategy: &str) -> bool {
    let mut changed = false;
    for kv in source {
        match map.iter_mut().find(|o| o.key == kv.key) {
            Some(existing) if strategy != "insert" && existing.value != kv.value => {
                existing.value = kv.value;
                changed = true;
            }
            Some(_) => {}
            None if strategy != "update" => {
                map.push(kv);
                changed = true;
            }
            None => {}
        }
    }
    changed
}

/// The `replacement`, optional `function` and optional `replacement_format` of the
/// `replace_*` editors.
struct Replacement<'a> {
    text: String,
    function: Option<StrFunc>,
    format: Option<&'a str>,
}

impl<'a> Replacement<'a> {
    fn new(call: &'a Call, t: &Target) -> Result<Self, EvalError> {
        let (i, name) = match call.func {
            Func::ReplaceAllPatterns => (3, "replace_all_patterns"),
            Func::ReplacePattern => (2, "replace_pattern"),
            Func::ReplaceMatch => (2, "replace_match"),
            _ => (2, "replace_all_matches"),
        };
        let text = match eval(args::expr(&call.args, i)?, t)? {
            Value::Str(s) => s,
            other => {
                return Err(EvalError(format!(
                    "{name}: replacement must be a string, got {}",
                    other.type_name()
                )));
            }
        };
        Ok(Self {
            text,
            function: args::func(&call.args, i + 1)?,
            format: args::string(&call.args, i + 2)?,
        })
    }

    fn finish(&self, s: String) -> String {
        let s = match self.function {
            Some(f) => f.apply(&s),
            None => s,
        };
        match self.format {
            Some(format) => format.replacen("%s", &s, 1),
            None => s,
        }
    }

    /// The replacement for a whole-value (glob) match.
    fn plain(&self) -> String {
        self.finish(self.text.clone())
    }

    /// `s` with every match of `re` replaced, `$1`/`${name}` expanded.
    fn apply(&self, re: &Regex, s: &str) -> String {
        re.replace_all(s, |caps: &Captures<'_>| {
            let mut expanded = String::new();
            caps.expand(&self.text, &mut expanded);
            self.finish(expanded)
        })
        .into_owned()
    }
}
