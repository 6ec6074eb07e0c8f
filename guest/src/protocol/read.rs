//! Reading records out of parsed JSON: one `serde_json::Value` parse per answer, then small
//! non-generic readers per field, instead of a derived `Deserialize` per record type (each of
//! which is a large monomorphized state machine in the component).
//!
//! The rules are serde's derived ones: unknown keys are ignored, a field without a default
//! must be present (`missing field `id``), a present field must have the field's type (`null`
//! is not a string, `1.5` is not a `u32`), and the errors use serde's words. Unlike serde, the
//! errors carry no line and column, a key given twice keeps its last value, and a record must
//! be a JSON object (serde also took a positional array).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Why a JSON value is not the record it should be, in serde's words.
pub type ReadError = String;

/// A type read from a parsed JSON value.
pub trait FromJson: Sized {
    fn from_json(v: Value) -> Result<Self, ReadError>;
}

/// Parses `bytes` as JSON and reads a `T` from it. JSON syntax errors are serde_json's own
/// (with line and column).
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T, ReadError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    T::from_json(v)
}

/// What a value is, as serde_json words it in an error (`string "x"`, `integer `5``, `null`).
fn unexpected(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

/// serde's "invalid type" error.
pub fn invalid_type(v: &Value, expected: &str) -> ReadError {
    format!("invalid type: {}, expected {expected}", unexpected(v))
}

impl FromJson for Value {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        Ok(v)
    }
}

impl FromJson for String {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(invalid_type(&other, "a string")),
        }
    }
}

impl FromJson for bool {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(invalid_type(&other, "a boolean")),
        }
    }
}

/// An unsigned integer of at most `max`, else serde's error naming the type `expected`.
fn unsigned(v: &Value, max: u64, expected: &str) -> Result<u64, ReadError> {
    match v {
        Value::Number(n) if !n.is_f64() => match n.as_u64() {
            Some(u) if u <= max => Ok(u),
            _ => Err(format!("invalid value: integer `{n}`, expected {expected}")),
        },
        other => Err(invalid_type(other, expected)),
    }
}

macro_rules! unsigned {
    ($($t:ty)*) => {$(
        impl FromJson for $t {
            fn from_json(v: Value) -> Result<Self, ReadError> {
                unsigned(&v, <$t>::MAX.into(), stringify!($t)).map(|u| u as $t)
            }
        }
    )*};
}

unsigned!(u8 u32 u64);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        match v {
            Value::Array(items) => items.into_iter().map(T::from_json).collect(),
            other => Err(invalid_type(&other, "a sequence")),
        }
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut out = BTreeMap::new();
        for (k, v) in object(v, "a map")? {
            out.insert(k, T::from_json(v)?);
        }
        Ok(out)
    }
}

/// A JSON object's members as `T`s, in key order: what `BTreeMap<String, T>` reads, as a list.
pub fn entries<T: FromJson>(v: Value) -> Result<Vec<(String, T)>, ReadError> {
    let mut out = Vec::new();
    for (k, v) in object(v, "a map")? {
        out.push((k, T::from_json(v)?));
    }
    Ok(out)
}

/// The members of a JSON object, else serde's error naming `expected`.
fn object(v: Value, expected: &str) -> Result<Map<String, Value>, ReadError> {
    match v {
        Value::Object(map) => Ok(map),
        other => Err(invalid_type(&other, expected)),
    }
}

/// The fields of a record being read: each is taken once by its reader. (A list, not the
/// object's map: a map's `remove` is ~4 KB of the component.)
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    /// The fields of `v`, which must be an object (`record` is e.g. `struct Server`).
    pub fn of(v: Value, record: &str) -> Result<Fields, ReadError> {
        object(v, record).map(|map| Fields(map.into_iter().collect()))
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.swap_remove(i).1)
    }

    /// A field without a default: absent is an error (`Option` fields are `None` instead).
    pub fn required<T: FromJson + Missing>(&mut self, key: &str) -> Result<T, ReadError> {
        match self.take(key) {
            Some(v) => T::from_json(v),
            None => T::missing(key),
        }
    }

    /// A field with `#[serde(default)]`: absent is `T::default()`.
    pub fn or_default<T: FromJson + Default>(&mut self, key: &str) -> Result<T, ReadError> {
        self.take(key)
            .map_or_else(|| Ok(T::default()), T::from_json)
    }

    /// A field with a default other than `T::default()` (`#[serde(default = "…")]`).
    pub fn or<T: FromJson>(&mut self, key: &str, default: T) -> Result<T, ReadError> {
        self.take(key).map_or(Ok(default), T::from_json)
    }

    /// A field with a default and a reader of its own (`deserialize_with`).
    pub fn read<T: Default>(
        &mut self,
        key: &str,
        read: fn(Value) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        self.take(key).map_or_else(|| Ok(T::default()), read)
    }

    /// A field without a default and with a reader of its own: absent is an error.
    pub fn read_required<T>(
        &mut self,
        key: &str,
        read: fn(Value) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        self.take(key).map_or_else(|| Err(missing_field(key)), read)
    }
}

/// serde's error for an absent field without a default.
pub fn missing_field(key: &str) -> ReadError {
    format!("missing field `{key}`")
}

/// What an absent field without a default is: an error, except for `Option` (serde reads an
/// absent `Option` as `None`).
pub trait Missing: Sized {
    fn missing(key: &str) -> Result<Self, ReadError> {
        Err(missing_field(key))
    }
}

impl<T> Missing for Option<T> {
    fn missing(_: &str) -> Result<Self, ReadError> {
        Ok(None)
    }
}

impl Missing for String {}
impl Missing for u64 {}
impl<T> Missing for Vec<T> {}

/// Implements `FromJson` for records (`fn(fields) -> record`) and `Deserialize` through it, so
/// that `serde_json::from_value` (the tests) reads them by the same rules.
macro_rules! records {
    ($($name:ident $(<$lt:lifetime>)? => |$f:ident| $body:expr;)*) => {$(
        impl $crate::protocol::read::FromJson for $name {
            fn from_json(v: serde_json::Value) -> Result<Self, $crate::protocol::read::ReadError> {
                let mut $f = $crate::protocol::read::Fields::of(
                    v,
                    concat!("struct ", stringify!($name)),
                )?;
                Ok($body)
            }
        }

        impl $crate::protocol::read::Missing for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                <$name as $crate::protocol::read::FromJson>::from_json(v)
                    .map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    )*};
}

pub(crate) use records;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    /// Reads `v` as `T` both ways: by these readers and by serde's own impls.
    fn both<T: FromJson + DeserializeOwned + PartialEq + std::fmt::Debug>(
        v: Value,
    ) -> (Result<T, String>, Result<T, String>) {
        let ours = T::from_json(v.clone());
        let serdes = serde_json::from_value::<T>(v).map_err(|e| e.to_string());
        (ours, serdes)
    }

    fn same<T: FromJson + DeserializeOwned + PartialEq + std::fmt::Debug>(v: Value) {
        let (ours, serdes) = both::<T>(v.clone());
        assert_eq!(ours, serdes, "{v} as {}", std::any::type_name::<T>());
    }

    #[test]
    fn scalars_and_containers_read_and_fail_like_serde() {
        let values = [
            json!(null),
            json!(true),
            json!(0),
            json!(7),
            json!(255),
            json!(256),
            json!(4294967295u64),
            json!(4294967296u64),
            json!(u64::MAX),
            json!(-1),
            json!(1.5),
            json!(2.0),
            json!("x\"y"),
            json!([]),
            json!([1, 2]),
            json!(["a", null]),
            json!({}),
            json!({"a": 1}),
            json!({"a": "b"}),
        ];
        for v in values {
            same::<String>(v.clone());
            same::<bool>(v.clone());
            same::<u8>(v.clone());
            same::<u32>(v.clone());
            same::<u64>(v.clone());
            same::<Option<u32>>(v.clone());
            same::<Option<String>>(v.clone());
            same::<Vec<u32>>(v.clone());
            same::<Vec<Option<String>>>(v.clone());
            same::<BTreeMap<String, u32>>(v.clone());
            same::<BTreeMap<String, String>>(v);
        }
    }

    #[test]
    fn records_follow_serdes_rules() {
        use crate::protocol::{Flavor, QuotaEntry};
        // Unknown keys are ignored; absent fields take their defaults.
        let f = Flavor::from_json(json!({"id": 3, "links": [], "x": {"y": 1}})).unwrap();
        assert_eq!((f.id.as_str(), f.vcpus, f.allow_create), ("3", 0, true));
        // A field without a default must be there.
        assert_eq!(
            Flavor::from_json(json!({"name": "n"})).unwrap_err(),
            "missing field `id`"
        );
        // Present fields have their type: null is not a string, 1.5 is not a u32.
        assert_eq!(
            Flavor::from_json(json!({"id": 1, "name": null})).unwrap_err(),
            "invalid type: null, expected a string"
        );
        assert_eq!(
            Flavor::from_json(json!({"id": 1, "vcpus": 1.5})).unwrap_err(),
            "invalid type: floating point `1.5`, expected u32"
        );
        let f = Flavor::from_json(json!({"id": 1, "SNF:allow_create": false})).unwrap();
        assert!(!f.allow_create);
        assert_eq!(
            Flavor::from_json(json!("f")).unwrap_err(),
            "invalid type: string \"f\", expected struct Flavor"
        );
        assert_eq!(
            Flavor::from_json(json!({"id": [1]})).unwrap_err(),
            "expected an id (string or integer), got [1]"
        );
        let q = QuotaEntry::from_json(json!({"usage": 2})).unwrap();
        assert_eq!((q.usage, q.limit), (2, 0));
        assert_eq!(
            QuotaEntry::from_json(json!({"limit": -1})).unwrap_err(),
            "invalid value: integer `-1`, expected u64"
        );
    }

    #[test]
    fn syntax_errors_are_serde_jsons() {
        assert_eq!(
            from_slice::<Value>(b"<html>").unwrap_err(),
            "expected value at line 1 column 1"
        );
        assert_eq!(from_slice::<u32>(b" 7 ").unwrap(), 7);
    }
}
