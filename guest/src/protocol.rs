//! Synnefo wire types: the JSON bodies the connector sends and receives, and nothing else.
//!
//! Synnefo is not consistent about JSON types (server ids are integers, volume ids strings,
//! snapshot progress is `0` or `"100%"`, a volume's `display_name` can be `null`), so the
//! fields that vary are read through the lenient helpers at the end of this file.
//!
//! `Flavor` and `Image` are also `Serialize`: `ops::lookup` caches them between calls, and
//! the same field names read them back (the lenient readers accept what the derived writers
//! produce).
//!
//! Answers are read by [`read`]: one parse into a borrowed [`read::Json`] tree, then a reader per
//! record (`records!` below), by serde's rules for derived records.

use std::collections::BTreeMap;

use serde::Serialize;

mod percent;
pub mod read;

use read::{FromJson, Json, ReadError, records};

/// Synnefo wraps every record in a one-key object named after it (`{"server": {…}}`,
/// `{"servers": […]}`). `api` decodes the envelope and hands out what is inside.
pub trait Envelope {
    type Inner;
    fn open(self) -> Self::Inner;
}

/// One resource of a project in `GET /account/v1.0/quotas` (Astakos): the user's share and the
/// project's, each as usage, limit and pending (committed but not yet settled).
#[derive(Debug, Clone, Default)]
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

records! {
    QuotaEntry => |f| QuotaEntry {
        usage: f.or_default("usage")?,
        limit: f.or_default("limit")?,
        pending: f.or_default("pending")?,
        project_usage: f.or_default("project_usage")?,
        project_limit: f.or_default("project_limit")?,
        project_pending: f.or_default("project_pending")?,
    };
}

/// Each project's quota entries by resource name, by project (sorted by name, as the
/// answer's object is; lists, not maps: two map types less in the component).
pub type Quotas = Vec<(String, Vec<(String, QuotaEntry)>)>;

/// `GET /account/v1.0/quotas`: `{project: {resource: entry}}`, with no envelope.
pub struct QuotasRoot(pub Quotas);

impl FromJson for QuotasRoot {
    fn from_json(v: Json<'_>) -> Result<Self, ReadError> {
        let mut projects = Vec::new();
        for (project, resources) in read::members(v, "a map")? {
            projects.push((
                project.into_owned(),
                read::entries::<QuotaEntry>(resources)?,
            ));
        }
        Ok(QuotasRoot(projects))
    }
}

impl Envelope for QuotasRoot {
    type Inner = Quotas;
    fn open(self) -> Self::Inner {
        self.0
    }
}

/// Declares answer envelopes: `Name { key: Inner }` is `{"key": Inner}` on the wire.
macro_rules! envelopes {
    ($($root:ident { $key:ident: $inner:ty })*) => {$(
        pub struct $root {
            pub $key: $inner,
        }

        records! {
            $root => |f| $root { $key: f.required(stringify!($key))? };
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

pub struct TokenResponse {
    pub access: Access,
}

pub struct Access {
    pub token: Option<AccessToken>,
    pub user: Option<AccessUser>,
    /// `serviceCatalog`.
    pub service_catalog: Vec<CatalogService>,
}

pub struct AccessToken {
    pub tenant: Option<AccessTenant>,
}

pub struct AccessTenant {
    pub id: Option<String>,
}

pub struct AccessUser {
    pub id: Option<String>,
}

pub struct CatalogService {
    /// `type`.
    pub kind: String,
    pub endpoints: Vec<CatalogEndpoint>,
}

pub struct CatalogEndpoint {
    /// `publicURL`.
    pub public_url: Option<String>,
}

records! {
    TokenResponse => |f| TokenResponse { access: f.required("access")? };
    Access => |f| Access {
        token: f.or_default("token")?,
        user: f.or_default("user")?,
        service_catalog: f.or_default("serviceCatalog")?,
    };
    AccessToken => |f| AccessToken { tenant: f.or_default("tenant")? };
    AccessTenant => |f| AccessTenant { id: f.read("id", opt_id)? };
    AccessUser => |f| AccessUser { id: f.read("id", opt_id)? };
    CatalogService => |f| CatalogService {
        kind: f.or_default("type")?,
        endpoints: f.or_default("endpoints")?,
    };
    CatalogEndpoint => |f| CatalogEndpoint { public_url: f.or_default("publicURL")? };
}

// ----- Compute: flavors -----------------------------------------------------------------------

envelopes! {
    FlavorsRoot { flavors: Vec<Flavor> }
    FlavorRoot { flavor: Flavor }
}

#[derive(Clone, Debug, Serialize)] // Serialize: ops::lookup caches it
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    /// MiB.
    pub ram: u32,
    /// GiB.
    pub disk: u32,
    #[serde(rename = "SNF:disk_template")]
    pub disk_template: String,
    /// Absent on old deployments, where every flavor could be used.
    #[serde(rename = "SNF:allow_create")]
    pub allow_create: bool,
}

records! {
    Flavor => |f| Flavor {
        id: f.read_required("id", id)?,
        name: f.or_default("name")?,
        vcpus: f.or_default("vcpus")?,
        ram: f.or_default("ram")?,
        disk: f.or_default("disk")?,
        disk_template: f.or_default("SNF:disk_template")?,
        allow_create: f.or("SNF:allow_create", true)?,
    };
}

// ----- Compute and Plankton: images -----------------------------------------------------------

envelopes! {
    ImagesRoot { images: Vec<Image> }
    ImageRoot { image: Image }
}

/// An image as the compute view (`/compute/v2.0/images`) shows it; the Plankton names of
/// the same facts (`properties`, `is_public`) are accepted too.
#[derive(Clone, Debug, Default, Serialize)] // Serialize: ops::lookup caches it
pub struct Image {
    pub id: String,
    pub name: String,
    pub status: String,
    pub progress: Option<u8>,
    pub metadata: BTreeMap<String, String>,
    pub properties: BTreeMap<String, String>,
    pub public: Option<bool>,
    pub is_public: Option<bool>,
    pub is_snapshot: Option<bool>,
    pub size: Option<u64>,
}

records! {
    Image => |f| Image {
        id: f.read_required("id", id)?,
        name: f.read("name", string_or_null)?,
        status: f.read("status", string_or_null)?,
        progress: f.read("progress", progress)?,
        metadata: f.read("metadata", string_map)?,
        properties: f.read("properties", string_map)?,
        public: f.or_default("public")?,
        is_public: f.or_default("is_public")?,
        is_snapshot: f.or_default("is_snapshot")?,
        size: f.or_default("size")?,
    };
}

// ----- Compute: servers -------------------------------------------------------------------------

envelopes! {
    ServersRoot { servers: Vec<Server> }
    ServerRoot { server: Server }
}

#[derive(Clone, Debug, Default)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub status: String,
    /// `SNF:task_state`.
    pub task_state: String,
    pub progress: Option<u8>,
    pub created: String,
    pub flavor: String,
    pub image: String,
    pub metadata: BTreeMap<String, String>,
    pub attachments: Vec<Nic>,
    /// Each network's addresses, by network name (a list, not a map: one map type less in
    /// the component).
    pub addresses: Vec<(String, Vec<Address>)>,
    pub volumes: Vec<String>,
    /// The server's latest diagnostic (Synnefo's detail view lists only that one).
    pub diagnostics: Vec<Diagnostic>,
}

/// One of a server's `diagnostics`: the cloud explaining a state (e.g. a failed build).
#[derive(Clone, Debug, Default)]
pub struct Diagnostic {
    pub message: String,
    pub details: String,
}

/// One entry of a server's `attachments` (its active NICs).
#[derive(Clone, Debug, Default)]
pub struct Nic {
    pub ipv4: String,
    pub ipv6: String,
}

/// One entry of a server's `addresses.<network>`.
#[derive(Clone, Debug)]
pub struct Address {
    pub version: u8,
    pub addr: String,
}

records! {
    Server => |f| Server {
        id: f.read_required("id", id)?,
        name: f.read("name", string_or_null)?,
        status: f.read("status", string_or_null)?,
        task_state: f.read("SNF:task_state", string_or_null)?,
        progress: f.read("progress", progress)?,
        created: f.read("created", string_or_null)?,
        flavor: f.read("flavor", reference)?,
        image: f.read("image", reference)?,
        metadata: f.read("metadata", string_map)?,
        attachments: f.read("attachments", list_or_null)?,
        addresses: f.read("addresses", addresses)?,
        volumes: f.read("volumes", id_list)?,
        diagnostics: f.read("diagnostics", list_or_null)?,
    };
    Diagnostic => |f| Diagnostic {
        message: f.read("message", string_or_null)?,
        details: f.read("details", string_or_null)?,
    };
    Nic => |f| Nic {
        ipv4: f.read("ipv4", string_or_null)?,
        ipv6: f.read("ipv6", string_or_null)?,
    };
    Address => |f| Address {
        version: f.or_default("version")?,
        addr: f.read("addr", string_or_null)?,
    };
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
    pub flavor_ref: Json<'static>,
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
pub fn id_value(id: &str) -> Json<'static> {
    id.parse::<u64>()
        .map(|n| Json::Number(n.into()))
        .unwrap_or_else(|_| Json::String(id.to_owned().into()))
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

#[derive(Clone, Debug, Default)]
pub struct Volume {
    pub id: String,
    pub display_name: String,
    pub size: Option<u32>,
    pub status: String,
    pub attachments: Vec<VolumeAttachment>,
    pub delete_on_termination: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct VolumeAttachment {
    pub server_id: Option<String>,
    pub device_index: Option<u32>,
}

records! {
    Volume => |f| Volume {
        id: f.read_required("id", id)?,
        display_name: f.read("display_name", string_or_null)?,
        size: f.or_default("size")?,
        status: f.read("status", string_or_null)?,
        attachments: f.read("attachments", list_or_null)?,
        delete_on_termination: f.or_default("delete_on_termination")?,
    };
    VolumeAttachment => |f| VolumeAttachment {
        server_id: f.read("server_id", opt_id)?,
        device_index: f.or_default("device_index")?,
    };
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
    pub server_id: Json<'static>,
}

#[derive(Serialize)]
pub struct CreateSnapshotRoot {
    pub snapshot: CreateSnapshot,
}

#[derive(Serialize)]
pub struct CreateSnapshot {
    pub volume_id: String,
    pub display_name: String,
    /// Stored as the snapshot's properties (snf-cyclades-app/synnefo/volume/snapshots.py
    /// `do_create`), next to the server's `OS` and `users` that Synnefo copies itself.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub id: String,
    pub display_name: String,
    pub status: String,
    /// GiB.
    pub size: Option<u64>,
    pub progress: Option<u8>,
    pub metadata: BTreeMap<String, String>,
}

records! {
    Snapshot => |f| Snapshot {
        id: f.read_required("id", id)?,
        display_name: f.read("display_name", string_or_null)?,
        status: f.read("status", string_or_null)?,
        size: f.or_default("size")?,
        progress: f.read("os-extended-snapshot-attribute:progress", progress)?,
        metadata: f.read("metadata", string_map)?,
    };
}

// ----- Lenient readers ----------------------------------------------------------------------

/// A JSON scalar as a string: `42` → "42", `"abc"` → "abc", `true` → "true"; `null` → "".
pub fn scalar_to_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.to_string()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Null => Some(String::new()),
        _ => None,
    }
}

fn id(v: Json<'_>) -> Result<String, ReadError> {
    match v {
        Json::String(s) => Ok(s.into_owned()),
        Json::Number(n) => Ok(n.to_string()),
        // to_string, not Display: Display's pretty-printing branch is ~2 KB more (same text).
        other => Err(format!(
            "expected an id (string or integer), got {}",
            serde_json::to_string(&other).unwrap_or_default()
        )),
    }
}

fn opt_id(v: Json<'_>) -> Result<Option<String>, ReadError> {
    Ok(match v {
        Json::String(s) if !s.is_empty() => Some(s.into_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn id_list(v: Json<'_>) -> Result<Vec<String>, ReadError> {
    Ok(match v {
        Json::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Json::Object(_) => read::get(i, "id").and_then(scalar_to_string),
                other => scalar_to_string(other),
            })
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    })
}

fn string_or_null(v: Json<'_>) -> Result<String, ReadError> {
    Ok(match v {
        Json::String(s) => s.into_owned(),
        other => scalar_to_string(&other).unwrap_or_default(),
    })
}

fn list_or_null<T: FromJson>(v: Json<'_>) -> Result<Vec<T>, ReadError> {
    Ok(Option::<Vec<T>>::from_json(v)?.unwrap_or_default())
}

/// `{"id": 42, "links": …}`, a bare id, or `""`/`{}`/null (a server booted from a volume).
fn reference(v: Json<'_>) -> Result<String, ReadError> {
    Ok(match &v {
        Json::Object(_) => read::get(&v, "id")
            .and_then(scalar_to_string)
            .unwrap_or_default(),
        other => scalar_to_string(other).unwrap_or_default(),
    })
}

/// Metadata values are strings in Synnefo, but be tolerant of numbers and booleans.
fn string_map(v: Json<'_>) -> Result<BTreeMap<String, String>, ReadError> {
    let mut out = BTreeMap::new();
    if let Json::Object(members) = v {
        for (k, v) in members {
            if let Some(s) = scalar_to_string(&v) {
                out.insert(k.into_owned(), s);
            }
        }
    }
    Ok(out)
}

/// Each network's addresses, by network name; a network whose list is not readable is left
/// out.
fn addresses(v: Json<'_>) -> Result<Vec<(String, Vec<Address>)>, ReadError> {
    let mut out = Vec::new();
    for (k, v) in read::members(v, "a map").unwrap_or_default() {
        if let Ok(a) = Vec::<Address>::from_json(v) {
            out.push((k.into_owned(), a));
        }
    }
    Ok(out)
}

/// `42`, `"42"`, `"100%"` or null → a percentage clamped to 0..=100.
fn progress(v: Json<'_>) -> Result<Option<u8>, ReadError> {
    let n = match &v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => {
            return Ok(percent::parse_percent(
                s.trim().trim_end_matches('%').trim(),
            ));
        }
        _ => None,
    };
    Ok(n.map(|n| n.clamp(0.0, 100.0) as u8))
}

#[cfg(test)]
mod tests;
