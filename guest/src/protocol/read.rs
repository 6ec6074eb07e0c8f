//! Reading records out of parsed JSON: one parse per answer into a [`Json`] tree, then small
//! non-generic readers per field, instead of a derived `Deserialize` per record type (each of
//! which is a large monomorphized state machine in the component).
//!
//! The rules are serde's derived ones: unknown keys are ignored, a field without a default
//! must be present (`missing field `id``), a present field must have the field's type (`null`
//! is not a string, `1.5` is not a `u32`), and the errors use serde's words. Unlike serde, the
//! errors carry no line and column, a key given twice keeps its last value, and a record must
//! be a JSON object (serde also took a positional array).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;

/// Why a JSON value is not the record it should be, in serde's words.
pub type ReadError = String;

/// A parsed JSON document, read by serde_json's parser. Unlike `serde_json::Value` it borrows
/// its strings and keys from the answer's bytes (serde_json hands out a borrowed `&str` for
/// every string without escapes) and keeps an object as the list of its members: no
/// `BTreeMap` node and no allocation per key or string. In the component, where every
/// allocation goes through dlmalloc, reading a server's record this way is several times
/// cheaper than through `Value`, and reading is most of what a call does besides waiting.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in the document's order, repeated keys included.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// Parses `bytes` as one JSON document. Syntax errors are serde_json's own (with line and
/// column).
pub fn parse(bytes: &[u8]) -> Result<Json<'_>, ReadError> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// A type read from a parsed JSON value.
pub trait FromJson: Sized {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError>;
}

/// Parses `bytes` as JSON and reads a `T` from it.
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T, ReadError> {
    T::from_json(parse(bytes)?)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        // serde_json's parser never yields a non-finite number.
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((Key(k), v)) = map.next_entry()? {
            members.push((k, v));
        }
        Ok(Json::Object(members))
    }
}

/// An object's key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(JsonVisitor)? {
            Json::String(s) => Ok(Key(s)),
            _ => Err(serde::de::Error::custom("a key must be a string")),
        }
    }
}

/// Written back as serde_json writes the same value (error messages quote what they got).
impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// What a value is, as serde_json words it in an error (`string "x"`, `integer `5``, `null`).
fn unexpected(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("boolean `{b}`"),
        Json::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Json::Number(n) => format!("integer `{n}`"),
        Json::String(s) => format!("string {s:?}"),
        Json::Array(_) => "sequence".into(),
        Json::Object(_) => "map".into(),
    }
}

/// serde's "invalid type" error.
pub fn invalid_type(v: &Json, expected: &str) -> ReadError {
    format!("invalid type: {}, expected {expected}", unexpected(v))
}

impl FromJson for String {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        match v {
            Json::String(s) => Ok(s.into_owned()),
            other => Err(invalid_type(&other, "a string")),
        }
    }
}

impl FromJson for bool {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        match v {
            Json::Bool(b) => Ok(b),
            other => Err(invalid_type(&other, "a boolean")),
        }
    }
}

/// Any document, for tests that look at a whole answer.
#[cfg(test)]
impl FromJson for serde_json::Value {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        serde_json::to_value(&v).map_err(|e| e.to_string())
    }
}

/// An unsigned integer of at most `max`, else serde's error naming the type `expected`.
fn unsigned(v: &Json, max: u64, expected: &str) -> Result<u64, ReadError> {
    match v {
        Json::Number(n) if !n.is_f64() => match n.as_u64() {
            Some(u) if u <= max => Ok(u),
            _ => Err(format!("invalid value: integer `{n}`, expected {expected}")),
        },
        other => Err(invalid_type(other, expected)),
    }
}

macro_rules! unsigned {
    ($($t:ty)*) => {$(
        impl FromJson for $t {
            fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
                unsigned(&v, <$t>::MAX.into(), stringify!($t)).map(|u| u as $t)
            }
        }
    )*};
}

unsigned!(u8 u32 u64);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        match v {
            Json::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        match v {
            Json::Array(items) => items.into_iter().map(T::from_json).collect(),
            other => Err(invalid_type(&other, "a sequence")),
        }
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        let mut out = BTreeMap::new();
        for (k, v) in object(v, "a map")? {
            out.insert(k.into_owned(), T::from_json(v)?);
        }
        Ok(out)
    }
}

/// A JSON object's members as `T`s, in key order: what `BTreeMap<String, T>` reads, as a list.
pub fn entries<T: FromJson>(v: Json<'_>) -> Result<Vec<(String, T)>, ReadError> {
    let mut out = Vec::new();
    for (k, v) in members(v, "a map")? {
        out.push((k.into_owned(), T::from_json(v)?));
    }
    Ok(out)
}

/// A JSON object's members in key order, a repeated key once with its last value (as a map
/// holds them), else serde's error naming `expected`.
pub fn members<'a>(
    v: Json<'a>,
    expected: &str,
) -> Result<Vec<(Cow<'a, str>, Json<'a>)>, ReadError> {
    let mut members = object(v, expected)?;
    // The sort is stable: after reversing, the last of a repeated key comes first and is kept.
    members.reverse();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.dedup_by(|later, kept| later.0 == kept.0);
    Ok(members)
}

/// The members of a JSON object in the document's order, else serde's error naming `expected`.
fn object<'a>(v: Json<'a>, expected: &str) -> Result<Vec<(Cow<'a, str>, Json<'a>)>, ReadError> {
    match v {
        Json::Object(members) => Ok(members),
        other => Err(invalid_type(&other, expected)),
    }
}

/// The value of `key` in an object (its last, if repeated); `None` for anything else.
pub fn get<'v, 'a>(v: &'v Json<'a>, key: &str) -> Option<&'v Json<'a>> {
    match v {
        Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// The fields of a record being read: each is taken once by its reader.
pub struct Fields<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Fields<'a> {
    /// The fields of `v`, which must be an object (`record` is e.g. `struct Server`).
    pub fn of(v: Json<'a>, record: &str) -> Result<Fields<'a>, ReadError> {
        object(v, record).map(Fields)
    }

    /// The value of `key`: its last, if the key is repeated.
    fn take(&mut self, key: &str) -> Option<Json<'a>> {
        let i = self.0.iter().rposition(|(k, _)| k == key)?;
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
        read: fn(Json<'_>) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        self.take(key).map_or_else(|| Ok(T::default()), read)
    }

    /// A field without a default and with a reader of its own: absent is an error.
    pub fn read_required<T>(
        &mut self,
        key: &str,
        read: fn(Json<'_>) -> Result<T, ReadError>,
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
            fn from_json(
                v: $crate::protocol::read::Json<'_>,
            ) -> Result<Self, $crate::protocol::read::ReadError> {
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
                let v = <$crate::protocol::read::Json as serde::Deserialize>::deserialize(d)?;
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
    use serde_json::{Value, json};

    /// Reads `v`, written out as JSON, by these readers.
    fn read<T: FromJson>(v: &Value) -> Result<T, String> {
        let bytes = serde_json::to_vec(v).unwrap();
        T::from_json(parse(&bytes).unwrap())
    }

    /// Reads `v` as `T` both ways: by these readers and by serde's own impls.
    fn both<T: FromJson + DeserializeOwned + PartialEq + std::fmt::Debug>(
        v: Value,
    ) -> (Result<T, String>, Result<T, String>) {
        let ours = read::<T>(&v);
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
        let f = read::<Flavor>(&json!({"id": 3, "links": [], "x": {"y": 1}})).unwrap();
        assert_eq!((f.id.as_str(), f.vcpus, f.allow_create), ("3", 0, true));
        // A field without a default must be there.
        assert_eq!(
            read::<Flavor>(&json!({"name": "n"})).unwrap_err(),
            "missing field `id`"
        );
        // Present fields have their type: null is not a string, 1.5 is not a u32.
        assert_eq!(
            read::<Flavor>(&json!({"id": 1, "name": null})).unwrap_err(),
            "invalid type: null, expected a string"
        );
        assert_eq!(
            read::<Flavor>(&json!({"id": 1, "vcpus": 1.5})).unwrap_err(),
            "invalid type: floating point `1.5`, expected u32"
        );
        let f = read::<Flavor>(&json!({"id": 1, "SNF:allow_create": false})).unwrap();
        assert!(!f.allow_create);
        assert_eq!(
            read::<Flavor>(&json!("f")).unwrap_err(),
            "invalid type: string \"f\", expected struct Flavor"
        );
        assert_eq!(
            read::<Flavor>(&json!({"id": [1]})).unwrap_err(),
            "expected an id (string or integer), got [1]"
        );
        let q = read::<QuotaEntry>(&json!({"usage": 2})).unwrap();
        assert_eq!((q.usage, q.limit), (2, 0));
        assert_eq!(
            read::<QuotaEntry>(&json!({"limit": -1})).unwrap_err(),
            "invalid value: integer `-1`, expected u64"
        );
    }

    #[test]
    fn syntax_errors_are_serde_jsons() {
        assert_eq!(
            parse(b"<html>").unwrap_err(),
            "expected value at line 1 column 1"
        );
        assert_eq!(from_slice::<u32>(b" 7 ").unwrap(), 7);
    }

    #[test]
    fn strings_are_borrowed_unless_escaped_and_a_repeated_key_keeps_its_last_value() {
        let doc =
            parse(br#"{"a": "plain", "b": "tab\tbed", "a": "again", "c": [1, 2.5, -3]}"#).unwrap();
        assert!(matches!(
            get(&doc, "a"),
            Some(Json::String(Cow::Borrowed("again")))
        ));
        assert!(matches!(get(&doc, "b"), Some(Json::String(Cow::Owned(s))) if s == "tab\tbed"));
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"a":"plain","b":"tab\tbed","a":"again","c":[1,2.5,-3]}"#
        );
        let m = members(doc, "a map").unwrap();
        let keys: Vec<_> = m.iter().map(|(k, v)| (k.as_ref(), v.clone())).collect();
        assert_eq!(keys[0], ("a", Json::String("again".into())));
        assert_eq!(
            keys.iter().map(|k| k.0).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        #[derive(Debug)]
        struct Two {
            a: String,
        }
        records! {
            Two => |f| Two { a: f.required("a")? };
        }
        assert_eq!(
            from_slice::<Two>(br#"{"a": "1", "a": "2"}"#).unwrap().a,
            "2"
        );
        assert_eq!(
            serde_json::from_str::<Two>(r#"{"a": "1", "a": "2"}"#)
                .unwrap()
                .a,
            "2"
        );
    }
}
