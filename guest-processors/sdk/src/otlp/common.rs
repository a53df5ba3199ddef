//! `opentelemetry.proto.common.v1` and `opentelemetry.proto.resource.v1`, plus constructors
//! and accessors for [`AnyValue`] and [`KeyValue`].

/// A value of an attribute, a log body or a nested map/array entry.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct AnyValue {
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub value: Option<any_value::Value>,
}

/// The oneof of [`AnyValue`].
pub mod any_value {
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Value {
        #[prost(string, tag = "1")]
        StringValue(String),
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        #[prost(int64, tag = "3")]
        IntValue(i64),
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        #[prost(message, tag = "5")]
        ArrayValue(super::ArrayValue),
        #[prost(message, tag = "6")]
        KvlistValue(super::KeyValueList),
        #[prost(bytes = "vec", tag = "7")]
        BytesValue(Vec<u8>),
        /// Index into a profile's string table (profiles only); kept so nothing is lost.
        #[prost(int32, tag = "8")]
        StringValueStrindex(i32),
    }
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ArrayValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct KeyValueList {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

/// One attribute: a key and its value.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
    /// Index into a profile's string table (profiles only); kept so nothing is lost.
    #[prost(int32, tag = "3")]
    pub key_strindex: i32,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct InstrumentationScope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct EntityRef {
    #[prost(string, tag = "1")]
    pub schema_url: String,
    #[prost(string, tag = "2")]
    pub r#type: String,
    #[prost(string, repeated, tag = "3")]
    pub id_keys: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub description_keys: Vec<String>,
}

/// `opentelemetry.proto.resource.v1.Resource`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
    #[prost(message, repeated, tag = "3")]
    pub entity_refs: Vec<EntityRef>,
}

use any_value::Value;

impl AnyValue {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Self {
            value: Some(Value::StringValue(s.into())),
        }
    }
    /// A boolean value.
    pub fn bool(b: bool) -> Self {
        Self {
            value: Some(Value::BoolValue(b)),
        }
    }
    /// A 64-bit integer value.
    pub fn int(i: i64) -> Self {
        Self {
            value: Some(Value::IntValue(i)),
        }
    }
    /// A double value.
    pub fn double(d: f64) -> Self {
        Self {
            value: Some(Value::DoubleValue(d)),
        }
    }
    /// A bytes value.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Self {
        Self {
            value: Some(Value::BytesValue(b.into())),
        }
    }
    /// An array value.
    pub fn array(values: impl IntoIterator<Item = AnyValue>) -> Self {
        Self {
            value: Some(Value::ArrayValue(ArrayValue {
                values: values.into_iter().collect(),
            })),
        }
    }
    /// A map value (`kvlist_value`), keeping the given order.
    pub fn map(values: impl IntoIterator<Item = KeyValue>) -> Self {
        Self {
            value: Some(Value::KvlistValue(KeyValueList {
                values: values.into_iter().collect(),
            })),
        }
    }
    /// The empty value (no oneof set).
    pub fn empty() -> Self {
        Self { value: None }
    }

    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Some(Value::StringValue(s)) => Some(s),
            _ => None,
        }
    }
    /// The integer, if this is an int value.
    pub fn as_int(&self) -> Option<i64> {
        match self.value {
            Some(Value::IntValue(i)) => Some(i),
            _ => None,
        }
    }
    /// The double, if this is a double value.
    pub fn as_double(&self) -> Option<f64> {
        match self.value {
            Some(Value::DoubleValue(d)) => Some(d),
            _ => None,
        }
    }
    /// The boolean, if this is a bool value.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Some(Value::BoolValue(b)) => Some(b),
            _ => None,
        }
    }
    /// The entries, if this is a map value.
    pub fn as_map(&self) -> Option<&[KeyValue]> {
        match &self.value {
            Some(Value::KvlistValue(m)) => Some(&m.values),
            _ => None,
        }
    }
    /// The elements, if this is an array value.
    pub fn as_array(&self) -> Option<&[AnyValue]> {
        match &self.value {
            Some(Value::ArrayValue(a)) => Some(&a.values),
            _ => None,
        }
    }
}

impl From<&str> for AnyValue {
    fn from(s: &str) -> Self {
        Self::string(s)
    }
}
impl From<String> for AnyValue {
    fn from(s: String) -> Self {
        Self::string(s)
    }
}
impl From<bool> for AnyValue {
    fn from(b: bool) -> Self {
        Self::bool(b)
    }
}
impl From<i64> for AnyValue {
    fn from(i: i64) -> Self {
        Self::int(i)
    }
}
impl From<f64> for AnyValue {
    fn from(d: f64) -> Self {
        Self::double(d)
    }
}

impl KeyValue {
    /// An attribute `key = value`.
    pub fn new(key: impl Into<String>, value: impl Into<AnyValue>) -> Self {
        Self {
            key: key.into(),
            value: Some(value.into()),
            key_strindex: 0,
        }
    }
}
