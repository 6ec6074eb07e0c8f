//! Synnefo wire types: the JSON bodies the connector sends and receives, and nothing else.
//!
//! Synnefo is not consistent about JSON types (server ids are integers, volume ids strings,
//! snapshot progress is `0` or `"100%"`, a volume's `display_name` can be `null`), so the
//! fields that vary are read through the lenient helpers at the end of this file.
//!
//! `Flavor` and `Image` are also `Serialize`: `ops::lookup` caches them between calls, and
//! the same field names read them back (the `deserialize_with` readers accept what the
//! derived writers produce).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Synnefo wraps every record in a one-key object named after it (`{"server": {…}}`,
/// `{"servers": […]}`). `api` decodes the envelope and hands out what is inside.
pub trait Envelope {
    type Inner;
    fn open(self) -> Self::Inner;
}

/// One resource of a project in `GET /account/v1.0/quotas` (Astakos): the user's share and the
/// project's, each as usage, limit and pending (committed but not yet settled).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QuotaEntry {
    pub usage: u64,
    pub limit: u64,
    pub pending: u64,
    pub project_usage: u64,
    pub project_limit: u64,
    pub project_pending: u64,
}

impl QuotaEntry {
    /// What is left: the smaller of the user's and the project's remainder.
    pub fn remaining(&self) -> u64 {
        let mine = self.limit.saturating_sub(self.usage + self.pending);
        let project = self
            .project_limit
            .saturating_sub(self.project_usage + self.project_pending);
        mine.min(project)
    }
}

/// `GET /account/v1.0/quotas`: `{project: {resource: entry}}`, with no envelope.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct QuotasRoot(
    pub std::collections::BTreeMap<String, std::collections::BTreeMap<String, QuotaEntry>>,
);

impl Envelope for QuotasRoot {
    type Inner = std::collections::BTreeMap<String, std::collections::BTreeMap<String, QuotaEntry>>;
    fn open(self) -> Self::Inner {
        self.0
    }
}

/// Declares answer envelopes: `Name { key: Inner }` is `{"key": Inner}` on the wire.
macro_rules! envelopes {
    ($($root:ident { $key:ident: $inner:ty })*) => {$(
        #[derive(Deserialize)]
        pub struct $root {
            pub $key: $inner,
        }

        impl Envelope for $root {
            type Inner = $inner;
            fn open(self) -> $inner {
                self.$key
            }
        }
    )*};
}

// ----- Identity (Astakos) -------------------------------------------------------------------

/// `POST {auth_url}/tokens` request body.
#[derive(Serialize)]
pub struct TokenRequest<'a> {
    pub auth: TokenAuth<'a>,
}

#[derive(Serialize)]
pub struct TokenAuth<'a> {
    pub token: TokenId<'a>,
}

#[derive(Serialize)]
pub struct TokenId<'a> {
    pub id: &'a str,
}

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access: Access,
}

#[derive(Deserialize)]
pub struct Access {
    #[serde(default)]
    pub token: Option<AccessToken>,
    #[serde(default)]
    pub user: Option<AccessUser>,
    #[serde(rename = "serviceCatalog", default)]
    pub service_catalog: Vec<CatalogService>,
}

#[derive(Deserialize)]
pub struct AccessToken {
    #[serde(default)]
    pub tenant: Option<AccessTenant>,
}

#[derive(Deserialize)]
pub struct AccessTenant {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
}

#[derive(Deserialize)]
pub struct AccessUser {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<String>,
}

#[derive(Deserialize)]
pub struct CatalogService {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Deserialize)]
pub struct CatalogEndpoint {
    #[serde(rename = "publicURL", default)]
    pub public_url: Option<String>,
}

// ----- Compute: flavors -----------------------------------------------------------------------

envelopes! {
    FlavorsRoot { flavors: Vec<Flavor> }
    FlavorRoot { flavor: Flavor }
}

#[derive(Deserialize, Clone, Debug, Serialize)] // Serialize: ops::lookup caches it
pub struct Flavor {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub vcpus: u32,
    /// MiB.
    #[serde(default)]
    pub ram: u32,
    /// GiB.
    #[serde(default)]
    pub disk: u32,
    #[serde(rename = "SNF:disk_template", default)]
    pub disk_template: String,
    /// Absent on old deployments, where every flavor could be used.
    #[serde(rename = "SNF:allow_create", default = "yes")]
    pub allow_create: bool,
}

// ----- Compute and Plankton: images -----------------------------------------------------------

envelopes! {
    ImagesRoot { images: Vec<Image> }
    ImageRoot { image: Image }
}

/// An image as the compute view (`/compute/v2.0/images`) shows it; the Plankton names of
/// the same facts (`properties`, `is_public`) are accepted too.
#[derive(Deserialize, Clone, Debug, Default, Serialize)] // Serialize: ops::lookup caches it
pub struct Image {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub status: String,
    #[serde(default, deserialize_with = "progress")]
    pub progress: Option<u8>,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub is_public: Option<bool>,
    #[serde(default)]
    pub is_snapshot: Option<bool>,
    #[serde(default)]
    pub size: Option<u64>,
}

// ----- Compute: servers -------------------------------------------------------------------------

envelopes! {
    ServersRoot { servers: Vec<Server> }
    ServerRoot { server: Server }
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct Server {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub status: String,
    #[serde(
        rename = "SNF:task_state",
        default,
        deserialize_with = "string_or_null"
    )]
    pub task_state: String,
    #[serde(default, deserialize_with = "progress")]
    pub progress: Option<u8>,
    #[serde(default, deserialize_with = "string_or_null")]
    pub created: String,
    #[serde(default, deserialize_with = "reference")]
    pub flavor: String,
    #[serde(default, deserialize_with = "reference")]
    pub image: String,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "list_or_null")]
    pub attachments: Vec<Nic>,
    #[serde(default, deserialize_with = "addresses")]
    pub addresses: BTreeMap<String, Vec<Address>>,
    #[serde(default, deserialize_with = "id_list")]
    pub volumes: Vec<String>,
    /// The server's latest diagnostic (Synnefo's detail view lists only that one).
    #[serde(default, deserialize_with = "list_or_null")]
    pub diagnostics: Vec<Diagnostic>,
}

/// One of a server's `diagnostics`: the cloud explaining a state (e.g. a failed build).
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Diagnostic {
    #[serde(default, deserialize_with = "string_or_null")]
    pub message: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub details: String,
}

/// One entry of a server's `attachments` (its active NICs).
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Nic {
    #[serde(default, deserialize_with = "string_or_null")]
    pub ipv4: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub ipv6: String,
}

/// One entry of a server's `addresses.<network>`.
#[derive(Deserialize, Clone, Debug)]
pub struct Address {
    #[serde(default)]
    pub version: u8,
    #[serde(default, deserialize_with = "string_or_null")]
    pub addr: String,
}

/// `POST /servers` body.
#[derive(Serialize, Debug)]
pub struct CreateServerRoot {
    pub server: CreateServer,
}

#[derive(Serialize, Debug)]
pub struct CreateServer {
    pub name: String,
    #[serde(rename = "imageRef")]
    pub image_ref: String,
    /// Synnefo flavor ids are integers; kamaki sends them as such.
    #[serde(rename = "flavorRef")]
    pub flavor_ref: Value,
    pub metadata: BTreeMap<String, String>,
    pub personality: Vec<Personality>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_device_mapping_v2: Option<Vec<BlockDevice>>,
}

/// An id as Synnefo's JSON holds it: flavor and server ids are integers on the wire (kamaki
/// sends them so); anything that is not a number is sent as the string it is.
pub fn id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id))
}

/// A file Synnefo writes into the VM's disk at creation (base64 `contents`).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Personality {
    pub path: String,
    pub contents: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct BlockDevice {
    pub source_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub volume_size: u32,
    pub delete_on_termination: bool,
    pub boot_index: i32,
    pub destination_type: &'static str,
}

// ----- Block storage: volumes and snapshots -------------------------------------------------

envelopes! {
    VolumesRoot { volumes: Vec<Volume> }
    VolumeRoot { volume: Volume }
    SnapshotRoot { snapshot: Snapshot }
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct Volume {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub display_name: String,
    #[serde(default)]
    pub size: Option<u32>,
    #[serde(default, deserialize_with = "string_or_null")]
    pub status: String,
    #[serde(default, deserialize_with = "list_or_null")]
    pub attachments: Vec<VolumeAttachment>,
    #[serde(default)]
    pub delete_on_termination: Option<bool>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct VolumeAttachment {
    #[serde(default, deserialize_with = "opt_id")]
    pub server_id: Option<String>,
    #[serde(default)]
    pub device_index: Option<u32>,
}

/// `POST /volumes` body: create a volume and attach it to a server in one call.
#[derive(Serialize)]
pub struct CreateVolumeRoot {
    pub volume: CreateVolume,
}

#[derive(Serialize)]
pub struct CreateVolume {
    pub display_name: String,
    pub size: u32,
    pub server_id: Value,
}

#[derive(Serialize)]
pub struct CreateSnapshotRoot {
    pub snapshot: CreateSnapshot,
}

#[derive(Serialize)]
pub struct CreateSnapshot {
    pub volume_id: String,
    pub display_name: String,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct Snapshot {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub display_name: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub status: String,
    /// GiB.
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(
        rename = "os-extended-snapshot-attribute:progress",
        default,
        deserialize_with = "progress"
    )]
    pub progress: Option<u8>,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
}

// ----- Lenient readers ----------------------------------------------------------------------

fn yes() -> bool {
    true
}

/// A JSON scalar as a string: `42` → "42", `"abc"` → "abc", `true` → "true"; `null` → "".
pub fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::String(_) | Value::Number(_) => Ok(scalar_to_string(&v).unwrap_or_default()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id (string or integer), got {other}"
        ))),
    }
}

fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::Object(o) => o.get("id").and_then(scalar_to_string),
                other => scalar_to_string(other),
            })
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    })
}

fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(scalar_to_string(&v).unwrap_or_default())
}

fn list_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `{"id": 42, "links": …}`, a bare id, or `""`/`{}`/null (a server booted from a volume).
fn reference<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match &v {
        Value::Object(o) => o.get("id").and_then(scalar_to_string).unwrap_or_default(),
        other => scalar_to_string(other).unwrap_or_default(),
    })
}

/// Metadata values are strings in Synnefo, but be tolerant of numbers and booleans.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Object(o) => o
            .into_iter()
            .filter_map(|(k, v)| scalar_to_string(&v).map(|s| (k, s)))
            .collect(),
        _ => BTreeMap::new(),
    })
}

fn addresses<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<Address>>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Object(o) => o
            .into_iter()
            .filter_map(|(k, v)| {
                serde_json::from_value::<Vec<Address>>(v)
                    .ok()
                    .map(|a| (k, a))
            })
            .collect(),
        _ => BTreeMap::new(),
    })
}

/// `42`, `"42"`, `"100%"` or null → a percentage clamped to 0..=100.
fn progress<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let v = Value::deserialize(d)?;
    let n = match &v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
        _ => None,
    };
    Ok(n.map(|n| n.clamp(0.0, 100.0) as u8))
}

#[cfg(test)]
mod tests;
