//! `misbehaving-connector`: a test-only cloud connector whose every call misbehaves as the
//! wasi:config key `mode` says (see README.md for the list of modes). It never talks to a
//! cloud: in the well-behaved modes it returns fixed data.

mod bindings {
    wit_bindgen::generate!({ path: "../../wit", world: "cloud-connector", generate_all });
}

use bindings::exports::slipstream::connector::connector::Guest;
use bindings::slipstream::connector::types::{
    ConnectorInfo, Disk, DiskState, Error, Flavor, Image, ImageState, Quota, ResizePlan, Size, Tag,
    Vm, VmChanges, VmSpec, VmState,
};
use bindings::wasi::clocks::monotonic_clock;
use bindings::wasi::http::outgoing_handler;
use bindings::wasi::http::types::{
    Fields, IncomingBody, IncomingResponse, Method, OutgoingRequest, Scheme,
};
use bindings::wasi::io::streams::StreamError;
use std::hint::black_box;

struct Component;

bindings::export!(Component with_types_in bindings);

const OPS: &[&str] = &[
    "list-flavors", "resolve-size", "list-images", "get-image", "delete-image",
    "set-image-public", "create-image", "create-vm", "get-vm", "list-vms-changed", "delete-vm",
    "start-vm", "stop-vm", "reboot-vm", "plan-resize", "resize-vm", "list-disks", "get-disk",
    "attach-disk", "detach-disk", "delete-disk", "project-quota", "set-vm-tag",
];

/// What an operation should do after `enter` has dealt with the modes that never return data.
#[derive(PartialEq)]
enum Mode {
    Ok,
    Garbage,
    EchoConfig,
    Fetch,
}

fn config(key: &str) -> Option<String> {
    bindings::wasi::config::store::get(key).ok().flatten()
}

/// Logs the call, then misbehaves as the `mode` key says: diverges (loop, alloc, panic),
/// blocks (sleep), fails (forbidden-host, unknown mode), or says how to answer.
fn enter(op: &str) -> Result<Mode, Error> {
    let mode = config("mode").unwrap_or_default();
    if mode == "fetch" {
        // No log line: what `fetch` measures is the request's cost alone.
        return Ok(Mode::Fetch);
    }
    eprintln!("misbehaving: {op} mode={mode}");
    match mode.as_str() {
        "" | "ok" | "info-panic" => Ok(Mode::Ok),
        "garbage" => Ok(Mode::Garbage),
        "echo-config" => Ok(Mode::EchoConfig),
        "loop" => spin(),
        "alloc" => hoard(),
        "panic" => panic!("deliberate panic from the misbehaving connector"),
        "sleep" => {
            monotonic_clock::subscribe_duration(3600 * 1_000_000_000).block();
            Ok(Mode::Ok)
        }
        "forbidden-host" => Err(forbidden_get()),
        "count" => {
            // Lives as long as the instance: a host that reused instances would count up.
            static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            Err(Error::Conflict(format!("call {n} of this instance")))
        }
        other => Err(Error::Invalid(format!("unknown mode {other:?}"))),
    }
}

fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn hoard() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        // Touch one byte in every 64 KiB wasm page so the memory is really used.
        for page in chunk.chunks_mut(1 << 16) {
            page[0] = 1;
        }
        chunks.push(black_box(chunk));
    }
}

/// GET http://forbidden.example/, which the host must refuse.
fn forbidden_get() -> Error {
    match get(Scheme::Http, "forbidden.example", "/", Fields::new()) {
        Ok(_response) => Error::Protocol("unexpectedly reached a forbidden host".into()),
        Err(e) => Error::Transport(e),
    }
}

/// One `GET` over wasi:http: the answer's head, or what went wrong.
fn get(
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: Fields,
) -> Result<IncomingResponse, String> {
    let request = OutgoingRequest::new(headers);
    let _ = request.set_method(&Method::Get);
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    let future = outgoing_handler::handle(request, None).map_err(|code| format!("{code:?}"))?;
    future.subscribe().block();
    match future.get() {
        Some(Ok(Ok(response))) => Ok(response),
        Some(Ok(Err(code))) => Err(format!("{code:?}")),
        Some(Err(())) => Err("the response was already taken".into()),
        None => Err("no response although the pollable was ready".into()),
    }
}

/// `GET {fetch_url}{id}` with the configured token, the answer read to its end and thrown
/// away: the least a connector's `get-vm` can do over wasi:http. The benchmark compares it
/// with the real connector and with native Rust, to tell what the sandbox's HTTP costs from
/// what the connector's own code does.
fn fetch(id: &str) -> Result<Vm, Error> {
    let bad = |what: &str| Error::Invalid(format!("fetch: {what}"));
    let url = config("fetch_url").ok_or_else(|| bad("set the config key fetch_url"))?;
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("fetch_url is not a URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let token = config("token").unwrap_or_default();
    let headers = Fields::from_list(&[
        ("X-Auth-Token".to_string(), token.into_bytes()),
        ("Accept".to_string(), b"application/json".to_vec()),
    ])
    .map_err(|e| bad(&format!("{e:?}")))?;
    let scheme = if scheme == "https" { Scheme::Https } else { Scheme::Http };
    let transport = |e: String| Error::Transport(format!("fetch: {e}"));
    let response = get(scheme, authority, &format!("{path}{id}"), headers).map_err(transport)?;
    if response.status() != 200 {
        return Err(Error::NotFound(format!("fetch: status {}", response.status())));
    }
    let body = response.consume().map_err(|()| transport("no body".into()))?;
    {
        let stream = body.stream().map_err(|()| transport("no body stream".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(_) => {}
                Err(StreamError::Closed) => break,
                Err(e) => return Err(transport(format!("{e:?}"))),
            }
        }
    }
    drop(IncomingBody::finish(body));
    Ok(vm(id, "fetched", VmState::Running))
}

fn not_found(what: &str, id: &str) -> Error {
    Error::NotFound(format!("no {what} {id:?}"))
}

fn check(what: &str, id: &str, known: &str) -> Result<(), Error> {
    if id == known { Ok(()) } else { Err(not_found(what, id)) }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag { key: key.into(), value: value.into() }
}

fn flavor(id: &str, name: &str, cpus: u32, ram_mb: u32, disk_gb: u32) -> Flavor {
    Flavor {
        id: id.into(),
        name: name.into(),
        cpus,
        ram_mb,
        disk_gb,
        disk_template: "drbd".into(),
        allow_create: true,
    }
}

fn flavors() -> Vec<Flavor> {
    vec![flavor("f-1", "small", 1, 1024, 20), flavor("f-2", "medium", 2, 4096, 40)]
}

fn garbage_flavor() -> Flavor {
    Flavor { disk_template: String::new(), allow_create: false, ..flavor("", "", 0, 0, 0) }
}

fn image(id: &str, name: &str, state: ImageState) -> Image {
    Image {
        id: id.into(),
        name: name.into(),
        state,
        progress: None,
        os: Some("debian".into()),
        users: Some("root user".into()),
        public: true,
        is_snapshot: false,
        size_bytes: Some(2 << 30),
        properties: vec![tag("OS", "debian")],
    }
}

fn garbage_image(id: &str) -> Image {
    Image { progress: Some(255), public: false, is_snapshot: true, ..image(id, "", ImageState::Unknown) }
}

fn vm(id: &str, name: &str, state: VmState) -> Vm {
    Vm {
        id: id.into(),
        name: name.into(),
        state,
        cloud_status: if state == VmState::Running { "ACTIVE" } else { "BUILD" }.into(),
        status_reason: None,
        task: None,
        progress: None,
        ipv4: vec!["192.0.2.1".into()],
        ipv6: vec!["2001:db8::1".into()],
        flavor: "f-1".into(),
        image: "img-1".into(),
        tags: vec![tag("role", "test")],
        disk_ids: vec!["d-1".into()],
        created: "2026-01-01T00:00:00Z".into(),
    }
}

fn garbage_vm(id: String, name: String) -> Vm {
    Vm {
        cloud_status: String::new(),
        status_reason: Some(String::new()),
        progress: Some(200),
        ipv4: vec!["not an address".into()],
        flavor: String::new(),
        image: String::new(),
        created: "yesterday-ish".into(),
        ..vm(&id, &name, VmState::Unknown)
    }
}

fn disk(id: &str, name: &str, size_gb: u32, index: u32) -> Disk {
    Disk {
        id: id.into(),
        name: name.into(),
        size_gb,
        state: DiskState::InUse,
        vm_id: Some("1".into()),
        device_index: Some(index),
        delete_on_termination: true,
    }
}

fn garbage_disk() -> Disk {
    Disk { state: DiskState::Unknown, vm_id: Some("no-such-vm".into()), ..disk("", "", 0, u32::MAX) }
}

fn find_flavor(size: &Size) -> Result<Flavor, Error> {
    let found = flavors().into_iter().find(|f| match size {
        Size::Flavor(s) => f.id == *s || f.name == *s,
        Size::Shape(s) => {
            f.cpus >= s.cpus && f.ram_mb >= s.ram_mb && f.disk_gb >= s.disk_gb.unwrap_or(0)
        }
    });
    found.ok_or_else(|| Error::Invalid(format!("no flavor fits {size:?}")))
}

/// The unit operations on vm "1".
fn vm_op(op: &str, id: &str) -> Result<(), Error> {
    match enter(op)? {
        Mode::Garbage => Ok(()),
        _ => check("vm", id, "1"),
    }
}

impl Guest for Component {
    fn info() -> ConnectorInfo {
        let mode = config("mode").unwrap_or_default();
        eprintln!("misbehaving: info mode={mode}");
        if mode == "info-panic" {
            panic!("deliberate panic from the misbehaving connector (info)");
        }
        ConnectorInfo {
            name: "misbehaving".into(),
            version: "0.0.1".into(),
            description: "Test-only connector that misbehaves as the config key `mode` says".into(),
            capabilities: OPS.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn list_flavors() -> Result<Vec<Flavor>, Error> {
        match enter("list-flavors")? {
            Mode::Garbage => Ok(vec![garbage_flavor()]),
            _ => Ok(flavors()),
        }
    }

    fn resolve_size(size: Size) -> Result<Flavor, Error> {
        match enter("resolve-size")? {
            Mode::Garbage => Ok(garbage_flavor()),
            _ => find_flavor(&size),
        }
    }

    fn list_images() -> Result<Vec<Image>, Error> {
        match enter("list-images")? {
            Mode::Garbage => Ok(vec![garbage_image(""), garbage_image("")]),
            _ => Ok(vec![image("img-1", "debian-12", ImageState::Available)]),
        }
    }

    fn get_image(id: String) -> Result<Image, Error> {
        match enter("get-image")? {
            Mode::Garbage => Ok(garbage_image(&format!("not-{id}"))),
            _ if id == "img-1" || id == "debian-12" => {
                Ok(image("img-1", "debian-12", ImageState::Available))
            }
            _ => Err(not_found("image", &id)),
        }
    }

    fn delete_image(id: String) -> Result<(), Error> {
        match enter("delete-image")? {
            Mode::Garbage => Ok(()),
            _ => check("image", &id, "img-1"),
        }
    }

    fn set_image_public(id: String, _public: bool) -> Result<(), Error> {
        match enter("set-image-public")? {
            Mode::Garbage => Ok(()),
            _ => check("image", &id, "img-1"),
        }
    }

    fn create_image(vm_id: String, name: String) -> Result<Image, Error> {
        match enter("create-image")? {
            Mode::Garbage => Ok(garbage_image("")),
            _ => check("vm", &vm_id, "1").map(|()| Image {
                progress: Some(0),
                public: false,
                is_snapshot: true,
                ..image("img-2", &name, ImageState::Saving)
            }),
        }
    }

    fn create_vm(spec: VmSpec) -> Result<Vm, Error> {
        match enter("create-vm")? {
            Mode::Garbage => Ok(garbage_vm("".into(), "".into())),
            _ => {
                let flavor = find_flavor(&spec.size)?;
                Ok(Vm { flavor: flavor.id, tags: spec.tags, ..vm("2", &spec.name, VmState::Pending) })
            }
        }
    }

    fn get_vm(id: String) -> Result<Vm, Error> {
        match enter("get-vm")? {
            Mode::Garbage => Ok(garbage_vm(format!("{id}-but-not-really"), "?".into())),
            Mode::EchoConfig => {
                let token = config("token").unwrap_or_default();
                Err(Error::Invalid(format!("token is {token}")))
            }
            Mode::Fetch => fetch(&id),
            Mode::Ok => check("vm", &id, "1").map(|()| vm("1", "test-vm", VmState::Running)),
        }
    }

    /// Always a full listing, and no token: the caller keeps listing in full.
    fn list_vms_changed(tags: Vec<Tag>, _since: Option<String>) -> Result<VmChanges, Error> {
        let vms = match enter("list-vms-changed")? {
            Mode::Garbage => (0..10_000)
                .map(|i| garbage_vm(i.to_string(), "x".repeat(1024)))
                .collect(),
            _ => {
                let vm = vm("1", "test-vm", VmState::Running);
                let matches = tags
                    .iter()
                    .all(|t| vm.tags.iter().any(|v| v.key == t.key && v.value == t.value));
                if matches { vec![vm] } else { vec![] }
            }
        };
        Ok(VmChanges { full: true, vms, gone: vec![], as_of: None })
    }

    fn delete_vm(id: String) -> Result<(), Error> {
        vm_op("delete-vm", &id)
    }

    fn start_vm(id: String) -> Result<(), Error> {
        vm_op("start-vm", &id)
    }

    fn stop_vm(id: String) -> Result<(), Error> {
        vm_op("stop-vm", &id)
    }

    fn reboot_vm(id: String, _hard: bool) -> Result<(), Error> {
        vm_op("reboot-vm", &id)
    }

    fn plan_resize(id: String, size: Size) -> Result<ResizePlan, Error> {
        match enter("plan-resize")? {
            Mode::Garbage => Ok(ResizePlan::MoveTo(garbage_flavor())),
            _ => {
                check("vm", &id, "1")?;
                let flavor = find_flavor(&size)?;
                Ok(if flavor.id == "f-1" { ResizePlan::Already(flavor) } else { ResizePlan::MoveTo(flavor) })
            }
        }
    }

    fn resize_vm(id: String, flavor_id: String) -> Result<(), Error> {
        match enter("resize-vm")? {
            Mode::Garbage => Ok(()),
            _ => {
                check("vm", &id, "1")?;
                find_flavor(&Size::Flavor(flavor_id)).map(|_| ())
            }
        }
    }

    fn list_disks(vm_id: Option<String>) -> Result<Vec<Disk>, Error> {
        match enter("list-disks")? {
            Mode::Garbage => Ok(vec![garbage_disk(), garbage_disk()]),
            _ => {
                if let Some(id) = &vm_id {
                    check("vm", id, "1")?;
                }
                Ok(vec![disk("d-1", "root", 20, 0)])
            }
        }
    }

    fn get_disk(id: String) -> Result<Disk, Error> {
        match enter("get-disk")? {
            Mode::Garbage => Ok(Disk { id: format!("not-{id}"), ..garbage_disk() }),
            _ => check("disk", &id, "d-1").map(|()| disk("d-1", "root", 20, 0)),
        }
    }

    fn attach_disk(vm_id: String, size_gb: u32, name: String) -> Result<Disk, Error> {
        match enter("attach-disk")? {
            Mode::Garbage => Ok(garbage_disk()),
            _ => check("vm", &vm_id, "1").map(|()| Disk {
                state: DiskState::Attaching,
                delete_on_termination: false,
                ..disk("d-2", &name, size_gb, 1)
            }),
        }
    }

    fn detach_disk(vm_id: String, disk_id: String) -> Result<(), Error> {
        match enter("detach-disk")? {
            Mode::Garbage => Ok(()),
            _ => check("vm", &vm_id, "1").and_then(|()| check("disk", &disk_id, "d-1")),
        }
    }

    fn delete_disk(disk_id: String) -> Result<(), Error> {
        match enter("delete-disk")? {
            Mode::Garbage => Ok(()),
            _ => check("disk", &disk_id, "d-1"),
        }
    }

    fn set_vm_tag(id: String, _key: String, _value: String) -> Result<(), Error> {
        vm_op("set-vm-tag", &id)
    }

    fn project_quota() -> Result<Quota, Error> {
        match enter("project-quota")? {
            Mode::Garbage => Ok(Quota {
                project: String::new(),
                vms: Some(u64::MAX),
                cpus: None,
                ram_mb: Some(0),
                disk_gb: None,
            }),
            _ => Ok(Quota {
                project: "p-1".into(),
                vms: None,
                cpus: None,
                ram_mb: None,
                disk_gb: None,
            }),
        }
    }
}
