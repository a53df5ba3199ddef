//! Merging several config files: later files override earlier keys, mappings merge deeply, and
//! every other value (lists included) is replaced whole, as the Collector's `--config` does.

use serde_yaml::Value;

pub(crate) fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(base), Value::Mapping(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (_, Value::Null) => {}
        (base, overlay) => *base = overlay,
    }
}

/// Does `path` (dotted, with `[i]` indexes) exist in `value`? Used to name the file an error
/// comes from: the last file that sets the path.
pub(crate) fn has_path(value: &Value, path: &str) -> bool {
    let mut current = value;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            match current.get(key) {
                Some(v) => current = v,
                None => return false,
            }
        }
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            match index.parse::<usize>().ok().and_then(|i| current.get(i)) {
                Some(v) => current = v,
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn later_keys_win_and_lists_are_replaced() {
        let mut base = yaml("a: {b: 1, c: [1, 2]}\nd: x");
        merge(&mut base, yaml("a: {c: [3], e: 2}"));
        assert_eq!(base, yaml("a: {b: 1, c: [3], e: 2}\nd: x"));
    }

    #[test]
    fn finds_paths() {
        let v = yaml("service: {pipelines: {traces: {receivers: [otlp]}}}");
        assert!(has_path(&v, "service.pipelines.traces.receivers[0]"));
        assert!(!has_path(&v, "service.pipelines.traces.receivers[1]"));
        assert!(!has_path(&v, "service.extensions"));
    }
}
