//! Get, set and delete attributes on everything that has them.
//!
//! ```
//! use sluice_guest_sdk::prelude::*;
//!
//! let mut span = Span::default();
//! span.set_attribute("http.route", "/users/{id}");
//! span.set_attribute("retries", 2);
//! assert_eq!(span.str_attribute("http.route"), Some("/users/{id}"));
//! assert!(span.remove_attribute("retries").is_some());
//! assert_eq!(span.attributes().len(), 1);
//! ```

use crate::otlp::logs::LogRecord;
use crate::otlp::metrics::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
};
use crate::otlp::trace::{Span, span};
use crate::otlp::{AnyValue, InstrumentationScope, KeyValue, Resource};
use crate::points::DataPointMut;

/// Anything with an attribute list. Keys are unique in well-formed OTLP; these methods act on
/// the first entry with a key when a sender sent duplicates, except `remove_attribute`,
/// which removes them all.
pub trait Attributes {
    /// The attribute list.
    fn attributes(&self) -> &[KeyValue];
    /// The attribute list, writable.
    fn attributes_mut(&mut self) -> &mut Vec<KeyValue>;

    /// The value of `key`, if present.
    fn attribute(&self, key: &str) -> Option<&AnyValue> {
        self.attributes()
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
    }

    /// The value of `key` if present and a string.
    fn str_attribute(&self, key: &str) -> Option<&str> {
        self.attribute(key).and_then(AnyValue::as_str)
    }

    /// Sets `key` to `value`, replacing an existing value in place or appending.
    fn set_attribute(&mut self, key: &str, value: impl Into<AnyValue>)
    where
        Self: Sized,
    {
        let value = Some(value.into());
        let attrs = self.attributes_mut();
        match attrs.iter_mut().find(|kv| kv.key == key) {
            Some(kv) => kv.value = value,
            None => attrs.push(KeyValue {
                key: key.to_owned(),
                value,
                key_strindex: 0,
            }),
        }
    }

    /// Removes every entry with `key`; returns the first removed value.
    fn remove_attribute(&mut self, key: &str) -> Option<AnyValue> {
        let attrs = self.attributes_mut();
        let first = attrs.iter().position(|kv| kv.key == key)?;
        let removed = attrs.remove(first).value;
        attrs.retain(|kv| kv.key != key);
        Some(removed.unwrap_or_default())
    }

    /// Keeps only the attributes for which `keep` returns true.
    fn retain_attributes(&mut self, keep: impl FnMut(&KeyValue) -> bool)
    where
        Self: Sized,
    {
        self.attributes_mut().retain(keep);
    }
}

impl Attributes for Vec<KeyValue> {
    fn attributes(&self) -> &[KeyValue] {
        self
    }
    fn attributes_mut(&mut self) -> &mut Vec<KeyValue> {
        self
    }
}

macro_rules! impl_attributes {
    ($($ty:ty => $field:ident),* $(,)?) => {$(
        impl Attributes for $ty {
            fn attributes(&self) -> &[KeyValue] {
                &self.$field
            }
            fn attributes_mut(&mut self) -> &mut Vec<KeyValue> {
                &mut self.$field
            }
        }
    )*};
}

impl_attributes! {
    Resource => attributes,
    InstrumentationScope => attributes,
    Span => attributes,
    span::Event => attributes,
    span::Link => attributes,
    NumberDataPoint => attributes,
    HistogramDataPoint => attributes,
    ExponentialHistogramDataPoint => attributes,
    SummaryDataPoint => attributes,
    LogRecord => attributes,
}

impl Attributes for DataPointMut<'_> {
    fn attributes(&self) -> &[KeyValue] {
        self.as_ref().attributes()
    }
    fn attributes_mut(&mut self) -> &mut Vec<KeyValue> {
        DataPointMut::attributes_mut(self)
    }
}
