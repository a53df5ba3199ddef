//! Checks on literal arguments, made once at `init` as the Collector does when it builds a
//! function.

use super::Func;
use crate::ottl::program::Arg;

/// Checks a call's literal arguments the way the Collector does when it builds a function.
pub fn validate(func: Func, args: &[Arg]) -> Result<(), String> {
    let int = |i: usize| match args.get(i) {
        Some(Arg::Int(n)) => *n,
        _ => 0,
    };
    let string = |i: usize| match args.get(i) {
        Some(Arg::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    match func {
        Func::Limit => {
            let priority = match args.get(2) {
                Some(Arg::Strs(s)) => s.len() as i64,
                _ => 0,
            };
            if int(1) < 0 {
                return Err(format!("limit {} cannot be negative", int(1)));
            }
            if int(1) < priority {
                return Err(format!(
                    "limit {} cannot be less than the number of priority keys ({priority})",
                    int(1)
                ));
            }
        }
        Func::TruncateAll => {
            if int(1) < 0 {
                return Err(format!("limit {} cannot be negative", int(1)));
            }
            if string(3).is_some_and(|m| m.len() as i64 > int(1)) {
                return Err("truncation_marker is longer than limit".into());
            }
        }
        Func::ReplaceAllPatterns if !matches!(string(1), Some("key" | "value")) => {
            return Err(format!(
                "mode must be \"key\" or \"value\", not {:?}",
                string(1).unwrap_or_default()
            ));
        }
        Func::MergeMaps if !matches!(string(2), Some("insert" | "update" | "upsert")) => {
            return Err(format!(
                "strategy must be \"insert\", \"update\" or \"upsert\", not {:?}",
                string(2).unwrap_or_default()
            ));
        }
        _ => {}
    }
    if let Some(Arg::Str(format)) = args.last() {
        let replace = matches!(
            func,
            Func::ReplacePattern
                | Func::ReplaceAllPatterns
                | Func::ReplaceMatch
                | Func::ReplaceAllMatches
        );
        if replace && format.matches("%s").count() != 1 {
            return Err("replacement_format must contain exactly one %s".into());
        }
    }
    Ok(())
}
