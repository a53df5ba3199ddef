//! Indexing into maps and lists: `attributes["a"]["b"]`, `body["items"][0]`.

use sluice_guest_sdk::otlp::any_value::Value as Any;
use sluice_guest_sdk::otlp::{AnyValue, KeyValue, KeyValueList};

use super::KeyRef;
use crate::ottl::EvalError;
use crate::ottl::value::Value;

/// Reads `keys` from a map; `nil` when a key is missing. No keys: the whole map.
pub fn get_map(map: &[KeyValue], keys: &[KeyRef]) -> Value {
    match keys.split_first() {
        None => Value::Map(map.to_vec()),
        Some((KeyRef::Str(k), rest)) => match map.iter().find(|kv| &kv.key == k) {
            Some(kv) => get_value(kv.value.as_ref(), rest),
            None => Value::Nil,
        },
        Some((KeyRef::Int(_), _)) => Value::Nil,
    }
}

/// Reads `keys` from a value; `nil` when a key is missing or the value cannot be indexed.
pub fn get_value(value: Option<&AnyValue>, keys: &[KeyRef]) -> Value {
    let Some((first, rest)) = keys.split_first() else {
        return Value::from(value);
    };
    match (value.and_then(|v| v.value.as_ref()), first) {
        (Some(Any::KvlistValue(m)), _) => get_map(&m.values, keys),
        (Some(Any::ArrayValue(a)), KeyRef::Int(i)) => {
            match usize::try_from(*i).ok().and_then(|i| a.values.get(i)) {
                Some(v) => get_value(Some(v), rest),
                None => Value::Nil,
            }
        }
        _ => Value::Nil,
    }
}

/// Sets `keys` (at least one) in a map, creating missing maps on the way.
pub fn set_in_map(map: &mut Vec<KeyValue>, keys: &[KeyRef], v: Value) -> Result<bool, EvalError> {
    let Some((first, rest)) = keys.split_first() else {
        return Err(EvalError("internal: empty index list".into()));
    };
    let KeyRef::Str(k) = first else {
        return Err(EvalError(
            "a map is indexed with a string, not an int".into(),
        ));
    };
    let idx = match map.iter().position(|kv| &kv.key == k) {
        Some(i) => i,
        None => {
            map.push(KeyValue {
                key: k.clone(),
                value: None,
                key_strindex: 0,
            });
            map.len() - 1
        }
    };
    let slot = map[idx].value.get_or_insert_with(AnyValue::empty);
    if rest.is_empty() {
        let new = AnyValue::from(v);
        let changed = *slot != new;
        *slot = new;
        Ok(changed)
    } else {
        set_in_value(slot, rest, v)
    }
}

/// Sets `keys` (at least one) inside a value, which must be a map or list (an empty value
/// becomes a map).
pub fn set_in_value(slot: &mut AnyValue, keys: &[KeyRef], v: Value) -> Result<bool, EvalError> {
    if slot.value.is_none() {
        slot.value = Some(Any::KvlistValue(KeyValueList::default()));
    }
    match (slot.value.as_mut(), keys.first()) {
        (Some(Any::KvlistValue(m)), _) => set_in_map(&mut m.values, keys, v),
        (Some(Any::ArrayValue(a)), Some(KeyRef::Int(i))) => {
            let len = a.values.len();
            let item = usize::try_from(*i)
                .ok()
                .and_then(|i| a.values.get_mut(i))
                .ok_or_else(|| {
                    EvalError(format!("index {i} is out of range for a list of {len}"))
                })?;
            if keys.len() == 1 {
                let new = AnyValue::from(v);
                let changed = *item != new;
                *item = new;
                Ok(changed)
            } else {
                set_in_value(item, &keys[1..], v)
            }
        }
        (other, _) => Err(EvalError(format!(
            "cannot index a {} value",
            Value::from(&AnyValue {
                value: other.cloned()
            })
            .type_name()
        ))),
    }
}

/// The map `keys` lead to inside `map`; `None` if a key is missing.
pub fn map_in_map<'m>(
    map: &'m mut Vec<KeyValue>,
    keys: &[KeyRef],
    path: &str,
) -> Result<Option<&'m mut Vec<KeyValue>>, EvalError> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(Some(map));
    };
    let KeyRef::Str(k) = first else {
        return Err(EvalError(format!(
            "{path}: a map is indexed with a string, not an int"
        )));
    };
    match map
        .iter_mut()
        .find(|kv| &kv.key == k)
        .and_then(|kv| kv.value.as_mut())
    {
        Some(v) => map_in_value(v, rest, path),
        None => Ok(None),
    }
}

/// The map `keys` lead to inside a value; an error if it is not a map.
pub fn map_in_value<'m>(
    value: &'m mut AnyValue,
    keys: &[KeyRef],
    path: &str,
) -> Result<Option<&'m mut Vec<KeyValue>>, EvalError> {
    match (&mut value.value, keys.split_first()) {
        (None, _) => Ok(None),
        (Some(Any::KvlistValue(m)), _) => map_in_map(&mut m.values, keys, path),
        (Some(Any::ArrayValue(a)), Some((KeyRef::Int(i), rest))) => {
            match usize::try_from(*i).ok().and_then(|i| a.values.get_mut(i)) {
                Some(v) => map_in_value(v, rest, path),
                None => Ok(None),
            }
        }
        (Some(other), _) => {
            let kind = Value::from(&AnyValue {
                value: Some(other.clone()),
            })
            .type_name();
            Err(EvalError(format!("{path} is a {kind}, not a map")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> KeyRef {
        KeyRef::Str(s.into())
    }

    #[test]
    fn set_creates_intermediate_maps_and_get_reads_them_back() {
        let mut map = vec![];
        assert!(set_in_map(&mut map, &[k("a"), k("b")], Value::Int(1)).unwrap());
        assert_eq!(get_map(&map, &[k("a"), k("b")]), Value::Int(1));
        assert!(!set_in_map(&mut map, &[k("a"), k("b")], Value::Int(1)).unwrap());
        assert_eq!(get_map(&map, &[k("a"), k("missing")]), Value::Nil);
    }

    #[test]
    fn lists_are_indexed_by_int_and_bounds_are_checked() {
        let mut map = vec![KeyValue::new(
            "l",
            AnyValue::array([AnyValue::int(1), AnyValue::int(2)]),
        )];
        assert_eq!(get_map(&map, &[k("l"), KeyRef::Int(1)]), Value::Int(2));
        assert_eq!(get_map(&map, &[k("l"), KeyRef::Int(5)]), Value::Nil);
        assert!(set_in_map(&mut map, &[k("l"), KeyRef::Int(0)], Value::Int(9)).unwrap());
        assert!(set_in_map(&mut map, &[k("l"), KeyRef::Int(7)], Value::Int(9)).is_err());
    }

    #[test]
    fn indexing_a_scalar_is_an_error_for_writes_and_nil_for_reads() {
        let mut map = vec![KeyValue::new("s", "text")];
        assert_eq!(get_map(&map, &[k("s"), k("x")]), Value::Nil);
        assert!(set_in_map(&mut map, &[k("s"), k("x")], Value::Int(1)).is_err());
        assert!(map_in_map(&mut map, &[k("s")], "p").is_err());
        assert!(map_in_map(&mut map, &[k("none")], "p").unwrap().is_none());
    }
}
