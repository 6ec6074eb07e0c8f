//! Cases where the simulator was corrected to answer exactly as Synnefo's own code does
//! (issue #10). Each cites the grnet/synnefo file and function it follows (newest
//! Synnefo, HEAD d06ec8c of 2018-04-11, where versions differ).

#[path = "sim_support/mod.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

// ---- Account (Astakos) ---------------------------------------------------------------

/// astakos/api/util.py `get_uuid_displayname_catalogs`: `{uuid: name}` of known uuids,
/// `{name: uuid}` of known names (case-insensitive, keyed as asked), unknown ones left out.
#[tokio::test]
async fn user_catalogs_map_uuids_and_display_names() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/account/v1.0/user_catalogs",
            json!({"uuids": [okeanos_sim::DEFAULT_USER_UUID, "nobody"],
                   "displaynames": [okeanos_sim::DEFAULT_USER_NAME.to_uppercase(), "ghost"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(
        v["uuid_catalog"],
        json!({okeanos_sim::DEFAULT_USER_UUID: okeanos_sim::DEFAULT_USER_NAME})
    );
    assert_eq!(
        v["displayname_catalog"],
        json!({okeanos_sim::DEFAULT_USER_NAME.to_uppercase(): okeanos_sim::DEFAULT_USER_UUID})
    );
    // The owner of the public images is an Astakos account too: clients (kamaki's
    // `imagecompute list`) look it up.
    let r = s
        .post(
            "/account/v1.0/user_catalogs",
            json!({"uuids": ["25ecced9-bf53-4145-91ee-cf47377e9fb2"]}),
        )
        .await;
    assert_eq!(
        r.json()["uuid_catalog"]["25ecced9-bf53-4145-91ee-cf47377e9fb2"],
        "images@okeanos.grnet.gr"
    );
    // A non-list `displaynames` and a non-string item are 400s, worded as Astakos words them.
    let r = s
        .post("/account/v1.0/user_catalogs", json!({"displaynames": "x"}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Invalid displaynames: x"));
    let r = s
        .post("/account/v1.0/user_catalogs", json!({"displaynames": [1]}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Items in 'displaynames' must be strings"),
    );
    let r = s.post("/account/v1.0/user_catalogs", json!([])).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Request body should be a json formatted dictionary"),
    );
}

/// astakos/api/quotas.py `resources` (no token needed) lists only what
/// `get_api_visible_resources` returns: snf-cyclades-app/synnefo/api/services.py registers
/// `cyclades.total_cpu`/`total_ram` and astakos/api/services.py `astakos.pending_app` with
/// `api_visible: False`.
#[tokio::test]
async fn resources_are_the_api_visible_ones_without_a_token() {
    let s = Sim::start().await;
    let r = s
        .raw(
            Method::GET,
            "/account/v1.0/resources",
            None,
            None,
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let mut names: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cyclades.cpu",
            "cyclades.disk",
            "cyclades.floating_ip",
            "cyclades.network.private",
            "cyclades.ram",
            "cyclades.vm"
        ]
    );
    assert_eq!(
        v["cyclades.ram"],
        json!({"service": "cyclades_compute", "unit": "bytes", "ui_visible": true,
               "api_visible": true, "description": "Virtual machine memory size of running servers"})
    );
    assert_eq!(v["cyclades.vm"]["unit"], Value::Null);
}

/// astakos/api/projects.py `get_projects_details` of the user's system project
/// (astakos/im/functions.py `make_base_project`): uuid = the user's, name
/// `system:<uuid>`, no owner, closed, private, one member; dates ISO 8601 with offset.
#[tokio::test]
async fn projects_list_the_system_project_and_get_one_by_id() {
    let s = Sim::start().await;
    let uuid = okeanos_sim::DEFAULT_USER_UUID;
    let v = s.get("/account/v1.0/projects").await.json();
    let p = &v.as_array().unwrap()[0];
    assert_eq!(p["id"], uuid);
    assert_eq!(p["name"], format!("system:{uuid}"));
    assert_eq!(p["owner"], Value::Null);
    assert_eq!(p["system_project"], true);
    assert_eq!(p["private"], true);
    assert_eq!(p["max_members"], 1);
    assert_eq!(
        (&p["join_policy"], &p["leave_policy"]),
        (&json!("closed"), &json!("closed"))
    );
    assert_eq!(p["state"], "active");
    assert!(p["creation_date"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(p["resources"]["cyclades.vm"]["project_capacity"], 100);
    assert!(p["resources"].get("cyclades.total_cpu").is_none());
    let one = s.get(&format!("/account/v1.0/projects/{uuid}")).await;
    assert_eq!(one.json(), *p);
    let r = s.get("/account/v1.0/projects/nope").await;
    assert_fault(&r, 404, "itemNotFound", Some("Project nope not found."));
    // `_get_projects`: an unknown mode is a 400.
    let r = s.get("/account/v1.0/projects?mode=all").await;
    assert_fault(&r, 400, "badRequest", Some("Unrecognized mode 'all'."));
}

// ---- Compute -------------------------------------------------------------------------

/// api/servers.py `list_addresses` and `list_addresses_by_network`; the attachment's
/// `id` is the NIC's, which is the port id of the network API, an integer
/// (`nic_to_attachments`).
#[tokio::test]
async fn server_ips_and_attachment_ids_are_port_ids() {
    let s = Sim::start().await;
    let id = s.active_server("ips", VLMC).await;
    let v = s
        .get(&format!("/compute/v2.0/servers/{id}/ips"))
        .await
        .json();
    let att = &v["attachments"][0];
    let port = att["id"].as_u64().expect("an integer id");
    let net = att["network_id"].as_str().unwrap().to_string();
    assert_eq!(v["addresses"][&net][0]["addr"], att["ipv4"]);
    let p = s.get(&format!("/network/v2.0/ports/{port}")).await;
    assert_eq!(
        p.status,
        StatusCode::OK,
        "the port API finds the attachment id"
    );
    assert_eq!(p.json()["port"]["device_id"], id.to_string());
    let server = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(server["server"]["attachments"][0]["id"], port);
    let by_net = s
        .get(&format!("/compute/v2.0/servers/{id}/ips/{net}"))
        .await
        .json();
    assert_eq!(by_net["network"][&net], v["addresses"][&net]);
    let r = s.get(&format!("/compute/v2.0/servers/{id}/ips/abc")).await;
    assert_fault(&r, 400, "badRequest", Some("Invalid network ID 'abc'"));
    let r = s
        .get(&format!("/compute/v2.0/servers/{id}/ips/424242"))
        .await;
    assert_fault(&r, 404, "itemNotFound", Some("Network 424242 not found."));
}

/// api/servers.py `server_stats` (`{"stats": {serverRef, refresh, *Bar, *TimeSeries}}`,
/// `STATS_REFRESH_PERIOD = 60`) and `get_server_diagnostics` (a bare list).
#[tokio::test]
async fn server_stats_and_diagnostics() {
    let s = Sim::start().await;
    let id = s.active_server("stats", VLMC).await;
    let v = s
        .get(&format!("/compute/v2.0/servers/{id}/stats"))
        .await
        .json();
    assert_eq!(v["stats"]["serverRef"], id);
    assert_eq!(v["stats"]["refresh"], 60);
    for k in ["cpuBar", "cpuTimeSeries", "netBar", "netTimeSeries"] {
        assert!(v["stats"][k].as_str().unwrap().starts_with("http"), "{k}");
    }
    let d = s
        .get(&format!("/compute/v2.0/servers/{id}/diagnostics"))
        .await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.json(), json!([]));
}

/// api/servers.py `vm_to_dict`: the fields Synnefo adds to the detail view.
#[tokio::test]
async fn server_detail_has_synnefo_fields() {
    let s = Sim::start().await;
    let id = s.create_server("fields", VLMC).await;
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    let sv = &v["server"];
    assert_eq!(sv["shared_to_project"], false);
    assert_eq!(sv["tags"], json!([]));
    assert_eq!(sv["SNF:key_names"], json!([]));
    assert_eq!(sv["SNF:rescue"], false);
    assert_eq!(
        (&sv["accessIPv4"], &sv["accessIPv6"]),
        (&json!(""), &json!(""))
    );
}

/// api/servers.py `demux_server_action`: the action and its arguments are checked before
/// the server is looked up (`servers.reboot` etc. look it up), so someone else's server
/// gets the 400 of a bad action; `key_to_action` with `VirtualMachine.ACTIONS` and
/// `ARBITRARY_ACTIONS` decides what is "not supported".
#[tokio::test]
async fn actions_are_validated_before_the_server_lookup() {
    let s = Sim::start().await;
    let r = s
        .action(424242, json!({"reboot": {"type": "GENTLE"}}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Invalid 'type' attribute."));
    let r = s.action(424242, json!({"changePassword": {}})).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Action changePassword not supported"),
    );
    let r = s.action(424242, json!({})).await;
    assert_fault(&r, 400, "badRequest", Some("Malformed Request."));
    let r = s.action(424242, json!({"start": 5})).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Malformed request. Invalid 'start' field"),
    );
    // A valid action on an unknown server is the 404.
    let r = s.action(424242, json!({"reboot": {}})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// api/servers.py: `os-start`/`os-stop` alias start/shutdown; `suspend` is 403; the RDP
/// and SPICE consoles 501; `rescue` is `featureNotEnabled` (404, `RESCUE_ENABLED = False`).
#[tokio::test]
async fn openstack_action_aliases_and_refusals() {
    let s = Sim::start().await;
    let id = s.active_server("alias", VLMC).await;
    assert_eq!(
        s.action(id, json!({"os-stop": {}})).await.status,
        StatusCode::ACCEPTED
    );
    s.wait_server(id, "STOPPED").await;
    assert_eq!(
        s.action(id, json!({"os-start": {}})).await.status,
        StatusCode::ACCEPTED
    );
    s.wait_server(id, "ACTIVE").await;
    let r = s.action(id, json!({"suspend": {}})).await;
    assert_fault(
        &r,
        403,
        "forbidden",
        Some("User is not allowed to suspend his server"),
    );
    let r = s.action(id, json!({"os-getRDPConsole": {}})).await;
    assert_fault(
        &r,
        501,
        "notImplemented",
        Some("RDP console not implemented"),
    );
    let r = s.action(id, json!({"os-getSPICEConsole": {}})).await;
    assert_fault(
        &r,
        501,
        "notImplemented",
        Some("Spice console not implemented"),
    );
    let r = s.action(id, json!({"rescue": {}})).await;
    assert_fault(&r, 404, "featureNotEnabled", Some(""));
}

/// api/servers.py `get_console` (types `vnc`, `vnc-ws`, `vnc-wss`, the grant of the type
/// asked for) and `os_get_vnc_console` (`novnc`, `xvpvnc`: a URL).
#[tokio::test]
async fn console_types() {
    let s = Sim::start().await;
    let id = s.active_server("console", VLMC).await;
    let r = s.action(id, json!({"console": {"type": "vnc-wss"}})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["console"]["type"], "vnc-wss");
    let r = s.action(id, json!({"console": {"type": "spice"}})).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Supported types: vnc, vnc-ws, vnc-wss"),
    );
    let r = s.action(id, json!({"console": {}})).await;
    assert_fault(&r, 400, "badRequest", Some("No console 'type' specified."));
    let r = s
        .action(id, json!({"os-getVNCConsole": {"type": "xvpvnc"}}))
        .await;
    let c = r.json()["console"].clone();
    assert_eq!(c["type"], "xvpvnc");
    assert!(c["url"].as_str().unwrap().contains("?password="));
    let r = s
        .action(id, json!({"os-getVNCConsole": {"type": "vnc"}}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Supported types: novnc, xvpvnc"),
    );
}

/// api/servers.py `reassign` (200, empty; `project` required; sharing refused while
/// `CYCLADES_SHARED_RESOURCES_ENABLED = False`) and logic/servers.py `reassign` (moves the
/// server and its root volume; permitted in any state).
#[tokio::test]
async fn reassign_moves_server_and_root_volume() {
    let s = Sim::start().await;
    let project = "0b8c2f7e-2222-4333-8444-000000000001";
    s.sim
        .backend()
        .set_project_quota(project, okeanos_sim::QuotaLimits::default());
    let id = s.active_server("move", VLMC).await;
    let r = s.action(id, json!({"reassign": {}})).await;
    assert_fault(&r, 400, "badRequest", Some("Missing 'project' attribute."));
    let r = s
        .action(
            id,
            json!({"reassign": {"project": project, "shared_to_project": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .action(id, json!({"reassign": {"project": project}}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.is_empty());
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(v["server"]["tenant_id"], project);
    let root = v["server"]["volumes"][0].as_u64().unwrap();
    let vol = s.get(&format!("/volume/v2.0/volumes/{root}")).await.json();
    assert_eq!(vol["volume"]["tenant_id"], project);
}

// ---- Networks and subnets ------------------------------------------------------------

/// api/networks.py `urlpatterns` (`/detail`) and logic/networks.py `create`: a new
/// network has no subnet; api/subnets.py `create_subnet` adds one (201), with the
/// gateway defaulting to the first host and one pool around it
/// (logic/subnets.py `_create_subnet`).
#[tokio::test]
async fn networks_detail_and_subnet_creation() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/network/v2.0/networks",
            json!({"network": {"type": "MAC_FILTERED", "name": "n"}}),
        )
        .await;
    let net = r.json()["network"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["network"]["subnets"], json!([]));
    let d = s.get("/network/v2.0/networks/detail").await.json();
    assert!(
        d["networks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == net.as_str())
    );
    let r = s
        .post(
            "/network/v2.0/subnets",
            json!({"subnet": {"network_id": net, "cidr": "10.9.8.0/24"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let sub = r.json()["subnet"].clone();
    assert_eq!(sub["gateway_ip"], "10.9.8.1");
    assert_eq!(
        sub["allocation_pools"],
        json!([{"start": "10.9.8.2", "end": "10.9.8.254"}])
    );
    assert_eq!(sub["enable_dhcp"], true);
    assert_eq!(sub["network_id"], net.as_str());
    let again = s
        .post(
            "/network/v2.0/subnets",
            json!({"subnet": {"network_id": net, "cidr": "10.9.9.0/24"}}),
        )
        .await;
    assert_fault(
        &again,
        400,
        "badRequest",
        Some("Only one subnet of IPv4/IPv6 per network is allowed"),
    );
}

/// api/subnets.py `create_subnet` and logic/subnets.py `validate_subnet_params`, in order.
#[tokio::test]
async fn subnet_validation() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/network/v2.0/networks",
            json!({"network": {"type": "MAC_FILTERED"}}),
        )
        .await;
    let net = r.json()["network"]["id"].as_str().unwrap().to_string();
    let sub = |body: Value| {
        let s = &s;
        async move {
            s.post("/network/v2.0/subnets", json!({ "subnet": body }))
                .await
        }
    };
    assert_fault(
        &sub(json!({"network_id": net})).await,
        400,
        "badRequest",
        Some("Malformed request"),
    );
    assert_fault(
        &sub(json!({"network_id": net, "cidr": "nonsense"})).await,
        400,
        "badRequest",
        Some("Malformed CIDR 'nonsense'"),
    );
    assert_fault(
        &sub(json!({"network_id": "x", "cidr": "10.0.0.0/24"})).await,
        400,
        "badRequest",
        Some("Malformed network ID"),
    );
    assert_fault(
        &sub(json!({"network_id": "424242", "cidr": "10.0.0.0/24"})).await,
        404,
        "itemNotFound",
        Some("No network found with that ID"),
    );
    assert_fault(
        &sub(json!({"network_id": "1", "cidr": "10.0.0.0/24"})).await,
        403,
        "forbidden",
        Some("Forbidden operation"),
    );
    assert_fault(
        &sub(json!({"network_id": net, "cidr": "10.0.0.1/24"})).await,
        400,
        "badRequest",
        Some("Invalid network IPv4 subnet"),
    );
    let r = sub(json!({"network_id": net, "cidr": "10.0.0.0/16"})).await;
    assert_eq!(r.status.as_u16(), 413);
    assert_eq!(
        r.json()["overLimit"]["details"],
        "Netmask must be in range: [22, 29]"
    );
    assert_fault(
        &sub(json!({"network_id": net, "cidr": "10.0.0.0/24", "gateway_ip": "10.1.0.1"})).await,
        400,
        "badRequest",
        Some("Invalid network IPv4 gateway"),
    );
    assert_fault(
        &sub(json!({"network_id": net, "cidr": "10.0.0.0/24", "enable_dhcp": "yes"})).await,
        400,
        "badRequest",
        Some("Malformed request, dhcp must be True or False"),
    );
    assert_fault(
        &sub(json!({"network_id": net, "cidr": "2001:db8::/48", "ip_version": 6})).await,
        400,
        "badRequest",
        Some("Unsupported IPv6 subnet size. Network netmask must be /64"),
    );
}

// ---- Block storage -------------------------------------------------------------------

/// volume/volumes.py `create`: on a server, the volume takes the server's volume type
/// and is created attached (status CREATING), so a non-detachable type such as `drbd`
/// is fine there; server_attachments.py `attach_volume` checks detachability only for
/// an AVAILABLE volume.
#[tokio::test]
async fn a_volume_created_on_a_drbd_server_is_allowed() {
    let s = Sim::start().await;
    let id = s.active_server("drbd", DRBD).await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"size": 1, "server_id": id.to_string(), "display_name": "d"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let vid = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let v = s.wait_volume(&vid, "in_use").await;
    assert_eq!(v["volume_type"], json!(1));
}

// ---- changes-since ---------------------------------------------------------------------

/// snf_django/lib/api/utils.py `isoparse`: `dateutil` reads the value and `astimezone`
/// moves it to UTC, which Python 2 refuses for a naive time, so a time without a zone is
/// "Invalid"; the future and anything older than `POLL_LIMIT` (3600 s) are 400 too; an
/// empty value is no filter. Django decodes `+` in a query as a space (so an offset must
/// be sent as `%2B`); RFC 2822 dates are read as well.
#[tokio::test]
async fn changes_since_is_parsed_like_isoparse() {
    let s = Sim::start().await;
    let fmt = |t: chrono::DateTime<chrono::Utc>, f: &str| t.format(f).to_string();
    let recent = chrono::Utc::now() - chrono::TimeDelta::seconds(30);
    let get = |q: String| {
        let s = &s;
        async move {
            s.get(&format!("/compute/v2.0/servers?changes-since={q}"))
                .await
        }
    };
    // Without a zone: invalid, however well formed.
    assert_fault(
        &get(fmt(recent, "%Y-%m-%dT%H:%M:%S")).await,
        400,
        "badRequest",
        Some("Invalid changes-since parameter."),
    );
    // A zone as `+00:00` arrives as a space unless percent-encoded.
    assert_fault(
        &get(fmt(recent, "%Y-%m-%dT%H:%M:%S+00:00")).await,
        400,
        "badRequest",
        Some("Invalid changes-since parameter."),
    );
    for ok in [
        fmt(recent, "%Y-%m-%dT%H:%M:%SZ"),
        fmt(recent, "%Y-%m-%dT%H:%M:%S.%6f%%2B00:00"),
        fmt(recent, "%Y-%m-%d%%20%H:%M:%S%%20UTC"),
        fmt(recent, "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20%%2B0000"),
    ] {
        let r = get(ok.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{ok}");
    }
    let future = chrono::Utc::now() + chrono::TimeDelta::seconds(600);
    assert_fault(
        &get(fmt(future, "%Y-%m-%dT%H:%M:%SZ")).await,
        400,
        "badRequest",
        Some("changes-since value set in the future."),
    );
    let old = chrono::Utc::now() - chrono::TimeDelta::seconds(3700);
    assert_fault(
        &get(fmt(old, "%Y-%m-%dT%H:%M:%SZ")).await,
        400,
        "badRequest",
        Some("Too old changes-since value."),
    );
    // Empty: `isoparse("")` is None, the plain list.
    assert_eq!(get(String::new()).await.status, StatusCode::OK);
}

/// api/servers.py `list_servers`: under `changes-since` the plain list stays plain
/// (`vm_to_dict(server, detail)`); api/images.py `list_images` tests an `ifilter` object
/// for emptiness, which is always true, so images never answer 304.
#[tokio::test]
async fn changes_since_keeps_the_view_and_images_never_304() {
    let s = Sim::start().await;
    let since =
        (chrono::Utc::now() - chrono::TimeDelta::seconds(5)).format("%Y-%m-%dT%H:%M:%S%.6fZ");
    s.create_server("plain", VLMC).await;
    let v = s
        .get(&format!("/compute/v2.0/servers?changes-since={since}"))
        .await
        .json();
    let one = &v["servers"][0];
    assert_eq!(one["name"], "plain");
    assert!(one.get("status").is_none(), "{one}");
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let r = s
        .get(&format!("/compute/v2.0/images/detail?changes-since={now}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"images": []}));
}

// ---- Compute: server creation ----------------------------------------------------------

/// api/servers.py `create_server`: a missing key or a container of the wrong type is
/// "Malformed request" (an explicit null `metadata` included, `server.get` returns it).
#[tokio::test]
async fn create_server_malformed_requests() {
    let s = Sim::start().await;
    for extra in [
        json!({"metadata": null}),
        json!({"metadata": ["a"]}),
        json!({"personality": {}}),
        json!({"networks": "x"}),
        json!({"SNF:key_names": "k"}),
        json!({"tags": "t"}),
    ] {
        let r = s.create_server_with("m", VLMC, extra.clone()).await;
        assert_fault(&r, 400, "badRequest", Some("Malformed request"));
    }
    let r = s
        .post(
            "/compute/v2.0/servers",
            json!({"server": {"name": "x", "flavorRef": VLMC}}),
        )
        .await;
    assert_fault(&r, 400, "badRequest", Some("Malformed request"));
    let r = s
        .create_server_with("f", 0, json!({"flavorRef": "abc"}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Invalid flavor ID 'abc'"));
    let r = s.create_server_with("f", 77777, json!({})).await;
    assert_fault(&r, 404, "itemNotFound", Some("Flavor not found."));
    let r = s.create_server_with("f", 900, json!({})).await;
    assert_fault(
        &r,
        403,
        "forbidden",
        Some(
            "It is not allowed to create a server from flavor with id '900', see 'allow_create' flavor attribute",
        ),
    );
}

/// api/servers.py `_parse_block_device` (with `snapshot` allowed), and logic/servers.py
/// `create`: the image of the first block device must match `imageRef`, and a blank root
/// is refused.
#[tokio::test]
async fn create_server_block_device_mapping() {
    let s = Sim::start().await;
    let bdm = |d: Value| json!({"block_device_mapping_v2": d});
    let cases = [
        (bdm(json!({})), "Block Device Mapping is Invalid"),
        (bdm(json!([1])), "Block Device Mapping is Invalid"),
        (
            bdm(json!([{"uuid": UBUNTU}])),
            "Block Device Mapping is Invalid: Invalid source_type field",
        ),
        (
            bdm(json!([{"source_type": "disk"}])),
            "Block Device Mapping is Invalid: source_type must be on of image, volume, blank, snapshot",
        ),
        (
            bdm(json!([{"source_type": "image"}])),
            "Block Device Mapping is Invalid: uuid of image is missing",
        ),
        (
            bdm(json!([{"source_type": "image", "uuid": UBUNTU, "volume_size": "big"}])),
            "Block Device Mapping is Invalid: Invalid size field",
        ),
        (
            bdm(json!([{"source_type": "image", "uuid": UBUNTU, "delete_on_termination": "true"}])),
            "Block Device Mapping is Invalid: Invalid delete_on_termination field",
        ),
        (
            bdm(json!([{"source_type": "image", "uuid": "another-image"}])),
            "The specified server's image is different from the the source of the first volume.",
        ),
        (
            json!({"imageRef": "", "block_device_mapping_v2": [{"source_type": "blank", "volume_size": 10}]}),
            "You need to specify either an image or a block device mapping.",
        ),
        (
            bdm(json!([{"source_type": "blank", "volume_size": 10}])),
            "Root volume cannot be blank",
        ),
    ];
    for (extra, msg) in cases {
        let r = s.create_server_with("b", VLMC, extra.clone()).await;
        assert_fault(&r, 400, "badRequest", Some(msg));
    }
    // The image may come from the first block device alone.
    let r = s
        .create_server_with(
            "from-bdm",
            VLMC,
            json!({"imageRef": null, "block_device_mapping_v2": [{"source_type": "image", "uuid": UBUNTU, "volume_size": 20}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json());
    assert_eq!(r.json()["server"]["image"]["id"], UBUNTU);
}

/// api/util.py `verify_personality` (item keys, `contents` required — a KeyError, the
/// generic 500 — Python 2 `b64decode`, which skips foreign characters and fails only on
/// padding) and `verify_user_data` (`BASE64_REGEXP`, "Marformed" as Synnefo spells it).
#[tokio::test]
async fn create_server_personality_and_user_data() {
    let s = Sim::start().await;
    let p = |item: Value| json!({"personality": [item]});
    let malformed = "Malformed personality in request";
    for item in [
        json!("x"),
        json!({"path": "/a", "contents": "aGk=", "extra": 1}),
        json!({"path": "/a", "contents": 5}),
        json!({"path": "/a", "contents": "aGk"}),
    ] {
        let r = s.create_server_with("p", VLMC, p(item.clone())).await;
        assert_fault(&r, 400, "badRequest", Some(malformed));
    }
    let r = s
        .create_server_with("p", VLMC, p(json!({"path": "/a"})))
        .await;
    assert_fault(&r, 500, "internalServerError", Some("Unexpected error"));
    // No path, foreign characters: Synnefo takes it.
    let r = s
        .create_server_with("p", VLMC, p(json!({"contents": "aG\nk="})))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json());
    let r = s
        .create_server_with("u", VLMC, json!({"user_data": "not base64"}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Marformed user_data request"));
}

/// Which check comes first when several fail: api/servers.py `create_server` checks the
/// body, block devices, personality, user data, then the flavor, the password, the key
/// names; logic/servers.py `create` then the name, the metadata count, the image, the
/// key pairs; `_db_create_server` the metadata lengths (`VirtualMachineMetadata`: 50, 500).
#[tokio::test]
async fn create_server_check_order() {
    let s = Sim::start().await;
    let many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let long = "n".repeat(256);
    // Personality before the flavor.
    let r = s
        .create_server_with("o", 77777, json!({"personality": [1]}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Malformed personality in request"),
    );
    // User data before the flavor.
    let r = s
        .create_server_with("o", 77777, json!({"user_data": "!"}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Marformed user_data request"));
    // The flavor before the password.
    let r = s
        .create_server_with("o", 77777, json!({"adminPass": "weak"}))
        .await;
    assert_fault(&r, 404, "itemNotFound", Some("Flavor not found."));
    // The password before the name.
    let r = s
        .create_server_with(&long, VLMC, json!({"adminPass": "weak"}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some(
            "Password not strong (must contain upper case, lower case, digits and be at least 10 characters!",
        ),
    );
    let r = s
        .create_server_with(
            &long,
            VLMC,
            json!({"key_name": "a", "SNF:key_names": ["b"]}),
        )
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Only one of the SNF:key_names andkey_name can be set"),
    );
    // The name before the metadata count, the count before the image.
    let r = s
        .create_server_with(&long, VLMC, json!({"metadata": many.clone()}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Server name is too long"));
    let r = s
        .create_server_with("o", VLMC, json!({"metadata": many, "imageRef": "nope"}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Virtual Machines cannot have more than 10 metadata items"),
    );
    // The key pair after the image, the metadata lengths last.
    let r = s
        .create_server_with(
            "o",
            VLMC,
            json!({"key_name": "nokey", "metadata": {"k".repeat(51): "v"}}),
        )
        .await;
    assert_fault(&r, 404, "itemNotFound", Some("Keypair nokey not found."));
    let r = s
        .create_server_with("o", VLMC, json!({"metadata": {"k".repeat(51): "v"}}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Metadata key is too long"));
    let r = s
        .create_server_with("o", VLMC, json!({"metadata": {"k": "v".repeat(501)}}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Metadata value is too long"));
    let r = s
        .create_server_with(
            "o",
            VLMC,
            json!({"metadata": {"k".repeat(50): "v".repeat(500)}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        s.sim.backend().server_count(okeanos_sim::DEFAULT_USER_UUID),
        1
    );
}

/// api/servers.py `update_metadata` (POST; count, then "Malformed Request." lengths) and
/// `metadata_demux` (GET and POST only: no PUT on the collection).
#[tokio::test]
async fn server_metadata_limits_and_methods() {
    let s = Sim::start().await;
    let id = s.create_server("meta", VLMC).await;
    let url = format!("/compute/v2.0/servers/{id}/metadata");
    let r = s
        .post(&url, json!({"metadata": {"k".repeat(51): "v"}}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Malformed Request. Metadata key is too long"),
    );
    let r = s
        .post(&url, json!({"metadata": {"k": "v".repeat(501)}}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Malformed Request. Metadata value is too long"),
    );
    let r = s
        .post(&url, json!({"metadata": {"k".repeat(50): "v".repeat(500)}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = s.put(&url, json!({"metadata": {"a": "b"}})).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// logic/servers.py `resize`: the flavor is looked up (api/util.py `get_flavor`) before
/// the ServerCommand validates the action; the same flavor is 400 worded with the models'
/// `__unicode__` (`<vm:ID@backend:B>`, `<ID:NAME>`).
#[tokio::test]
async fn resize_looks_up_the_flavor_first_and_words_the_same_flavor() {
    let s = Sim::start().await;
    let id = s.active_server("rs", VLMC).await;
    // ACTIVE cannot be resized, but the unknown flavor is found out first.
    let r = s.action(id, json!({"resize": {"flavorRef": 77777}})).await;
    assert_fault(&r, 404, "itemNotFound", Some("Flavor not found."));
    s.action(id, json!({"shutdown": {}})).await;
    s.wait_server(id, "STOPPED").await;
    let name = s.get(&format!("/compute/v2.0/flavors/{VLMC}")).await.json()["flavor"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.action(id, json!({"resize": {"flavorRef": VLMC}})).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some(&format!(
            "Server '<vm:{id}@backend:1>' flavor is already '<{VLMC}:{name}>'."
        )),
    );
}

// ---- Block storage -------------------------------------------------------------------

/// volume/views.py `volume_to_dict`: every field and its JSON type — `id` a string,
/// `volume_type` an integer, the attachment's `server_id`, `volume_id`, `device_index`
/// integers, `deleted` and `shared_to_project` booleans, no `updated_at` or `bootable`;
/// `volume_type_to_dict`: the type's `id` an integer.
#[tokio::test]
async fn volume_body_fields_and_types() {
    let s = Sim::start().await;
    let sid = s.active_server("vb", VLMC).await;
    let server = s.get(&format!("/compute/v2.0/servers/{sid}")).await.json();
    let root = server["server"]["volumes"][0].as_u64().unwrap();
    let v = s.get(&format!("/volume/v2.0/volumes/{root}")).await.json()["volume"].clone();
    assert_eq!(v["id"], json!(root.to_string()));
    assert!(v["volume_type"].is_u64(), "{v}");
    assert_eq!(
        v["attachments"],
        json!([{"server_id": sid, "volume_id": root, "device_index": 0}])
    );
    assert_eq!(v["deleted"], json!(false));
    assert_eq!(v["shared_to_project"], json!(false));
    assert_eq!(v["source_volid"], Value::Null);
    for gone in ["updated_at", "bootable"] {
        assert!(v.get(gone).is_none(), "{gone} in {v}");
    }
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attachments",
            "created_at",
            "delete_on_termination",
            "deleted",
            "display_description",
            "display_name",
            "id",
            "image_id",
            "links",
            "metadata",
            "shared_to_project",
            "size",
            "snapshot_id",
            "source_volid",
            "status",
            "tenant_id",
            "user_id",
            "volume_type"
        ]
    );
    let t = s.get("/volume/v2.0/types").await.json();
    assert!(t["volume_types"][0]["id"].is_u64(), "{t}");
}

/// volume/urls.py matches volume ids with `(\d+)`; others reach `api_endpoint_not_found`
/// (400). volume/views.py `update_volume`: "Nothing to update.", and
/// `delete_on_termination` must be a boolean (`get_attribute(..., attr_type=bool)`).
#[tokio::test]
async fn volume_ids_and_empty_updates() {
    let s = Sim::start().await;
    let r = s.get("/volume/v2.0/volumes/abc").await;
    assert_fault(&r, 400, "badRequest", Some("API endpoint not found"));
    let sid = s.active_server("vu", VLMC).await;
    let server = s.get(&format!("/compute/v2.0/servers/{sid}")).await.json();
    let root = server["server"]["volumes"][0].as_u64().unwrap();
    let url = format!("/volume/v2.0/volumes/{root}");
    let r = s.put(&url, json!({"volume": {}})).await;
    assert_fault(&r, 400, "badRequest", Some("Nothing to update."));
    let r = s
        .put(&url, json!({"volume": {"delete_on_termination": "false"}}))
        .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Malformed request. Invalid 'delete_on_termination' field"),
    );
    let r = s
        .put(&url, json!({"volume": {"display_name": "root"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["volume"]["display_name"], "root");
}

/// volume/urls.py `volume_metadata_demux` (GET, POST merges, PUT replaces, 200) and
/// `volume_metadata_item_demux` (DELETE, 200; a missing key is 400); volume/views.py
/// `update_volume_metadata`'s limits (key 64, value 255, 10 items).
#[tokio::test]
async fn volume_metadata_endpoints() {
    let s = Sim::start().await;
    let sid = s.active_server("vm", VLMC).await;
    let server = s.get(&format!("/compute/v2.0/servers/{sid}")).await.json();
    let root = server["server"]["volumes"][0].as_u64().unwrap();
    let url = format!("/volume/v2.0/volumes/{root}/metadata");
    let r = s
        .post(&url, json!({"metadata": {"a": "1", "b": "2"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"metadata": {"a": "1", "b": "2"}}));
    let r = s.put(&url, json!({"metadata": {"c": "3"}})).await;
    assert_eq!(r.json(), json!({"metadata": {"c": "3"}}));
    assert_eq!(s.get(&url).await.json(), json!({"metadata": {"c": "3"}}));
    let r = s.delete(&format!("{url}/c")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = s.delete(&format!("{url}/c")).await;
    assert_fault(&r, 400, "badRequest", Some("Metadata key not found"));
    let r = s
        .post(&url, json!({"metadata": {"k".repeat(65): "v"}}))
        .await;
    assert_fault(&r, 400, "badRequest", Some("Metadata key is too long."));
    let many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let r = s.put(&url, json!({"metadata": many})).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Volumes cannot have more than 10 metadata items"),
    );
    let r = s.post(&url, json!({})).await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Malformed request. Missing attribute 'metadata'."),
    );
}

// ---- Snapshots -------------------------------------------------------------------------

/// volume/views.py `snapshot_to_dict` and `create_snapshot`: the default name is
/// "Snapshot of volume '<id>'"; progress is the integer 0 until AVAILABLE, then the string
/// "100%"; no `updated_at`; the plain list shows full entries (the function ignores
/// `detail`).
#[tokio::test]
async fn snapshot_names_progress_and_list_entries() {
    let s = Sim::start().await;
    let sid = s.active_server("sn", VLMC).await;
    let server = s.get(&format!("/compute/v2.0/servers/{sid}")).await.json();
    let root = server["server"]["volumes"][0].as_u64().unwrap();
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root.to_string()}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let snap = r.json()["snapshot"].clone();
    assert_eq!(snap["display_name"], format!("Snapshot of volume '{root}'"));
    assert_eq!(snap["status"], "CREATING");
    assert_eq!(snap["os-extended-snapshot-attribute:progress"], json!(0));
    assert!(snap.get("updated_at").is_none(), "{snap}");
    let id = snap["id"].as_str().unwrap().to_string();
    let done = s
        .wait_for(&format!("/volume/v2.0/snapshots/{id}"), |v| {
            v["snapshot"]["status"] == "AVAILABLE"
        })
        .await;
    assert_eq!(
        done["snapshot"]["os-extended-snapshot-attribute:progress"],
        "100%"
    );
    let list = s.get("/volume/v2.0/snapshots").await.json();
    assert_eq!(list["snapshots"][0]["status"], "AVAILABLE");
    assert_eq!(
        list["snapshots"][0]["volume_id"],
        done["snapshot"]["volume_id"]
    );
}

// ---- Plankton ------------------------------------------------------------------------------

/// One Plankton call with `X-Image-Meta-*` headers.
async fn plankton(s: &Sim, m: Method, path: &str, token: &str, h: &[(&str, &str)]) -> Resp {
    s.raw(m, &format!("/image/v1.0{path}"), Some(token), None, None, h)
        .await
        .unwrap()
}

fn own_location(path: &str) -> String {
    format!("pithos://{}/images/{path}", okeanos_sim::DEFAULT_USER_UUID)
}

/// plankton/views.py `_create_image_response` and plankton/backend.py `format_timestamp`,
/// `image_to_dict`: HEAD answers every `DETAIL_FIELDS` header — dates as
/// `%Y-%m-%d %H:%M:%S`, Python's `True`/`False`, the name and properties quoted, the
/// status mapped (`SAVING` for an unavailable map) — and no body; the JSON list keeps the
/// raw map status and the same dates. `GET /images/<id>` is 501 (`get_image`).
#[tokio::test]
async fn plankton_head_headers_dates_and_get() {
    let s = Sim::start().await;
    let r = plankton(
        &s,
        Method::HEAD,
        &format!("/images/{UBUNTU}"),
        &s.token,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text, "");
    let date = |v: Option<String>| {
        let v = v.expect("date header");
        assert!(
            chrono::NaiveDateTime::parse_from_str(&v, "%Y-%m-%d %H:%M:%S").is_ok(),
            "{v}"
        );
    };
    date(r.header("x-image-meta-created-at"));
    date(r.header("x-image-meta-updated-at"));
    assert_eq!(r.header("x-image-meta-deleted-at").as_deref(), Some(""));
    assert_eq!(r.header("x-image-meta-is-public").as_deref(), Some("True"));
    assert_eq!(
        r.header("x-image-meta-is-snapshot").as_deref(),
        Some("False")
    );
    assert_eq!(r.header("x-image-meta-description").as_deref(), Some(""));
    assert_eq!(
        r.header("x-image-meta-status").as_deref(),
        Some("AVAILABLE")
    );
    assert_eq!(r.header("x-image-meta-id").as_deref(), Some(UBUNTU));
    assert!(
        r.header("x-image-meta-size")
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(r.header("x-image-meta-checksum").unwrap().len(), 64);
    let v = s.get("/image/v1.0/images/detail").await.json();
    let img = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == UBUNTU)
        .unwrap()
        .clone();
    assert!(
        chrono::NaiveDateTime::parse_from_str(
            img["created_at"].as_str().unwrap(),
            "%Y-%m-%d %H:%M:%S"
        )
        .is_ok()
    );
    assert_eq!(img["deleted_at"], "");
    let r = plankton(&s, Method::GET, &format!("/images/{UBUNTU}"), &s.token, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(r.text, "");
    // A name with a space comes back quoted.
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "my%20image"),
            ("X-Image-Meta-Location", &own_location("q.diskdump")),
            ("X-Image-Meta-Property-Root-Partition", "1%202"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(r.header("x-image-meta-name").as_deref(), Some("my%20image"));
    assert_eq!(
        r.header("x-image-meta-status").as_deref(),
        Some("AVAILABLE")
    );
    assert_eq!(r.header("x-image-meta-is-public").as_deref(), Some("False"));
    assert_eq!(
        r.header("x-image-meta-property-root-partition").as_deref(),
        Some("1%202")
    );
    let id = r.header("x-image-meta-id").unwrap();
    let v = s.get(&format!("/compute/v2.0/images/{id}")).await.json();
    assert_eq!(v["image"]["name"], "my image");
    assert_eq!(v["image"]["metadata"], json!({"root_partition": "1 2"}));
}

/// plankton/views.py `headers_to_image_params`: property names are unquoted, lowercased
/// and every ASCII punctuation mark becomes `_`; unknown `X-Image-Meta-*` are dropped;
/// `is_public` is true only for `true` in any case.
#[tokio::test]
async fn plankton_property_names_are_normalised() {
    let s = Sim::start().await;
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "n"),
            ("X-Image-Meta-Location", &own_location("n.diskdump")),
            ("X-Image-Meta-Property-OSFAMILY", "linux"),
            ("X-Image-Meta-Property-Kernel.Version", "5"),
            ("X-Image-Meta-Property-A%2Bb", "c"),
            ("X-Image-Meta-Lolo", "dropped"),
            ("X-Image-Meta-Is-Public", "TRUE"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.header("x-image-meta-id").unwrap();
    assert_eq!(r.header("x-image-meta-is-public").as_deref(), Some("True"));
    let v = s.get(&format!("/compute/v2.0/images/{id}")).await.json();
    assert_eq!(
        v["image"]["metadata"],
        json!({"osfamily": "linux", "kernel_version": "5", "a_b": "c"})
    );
    // Anything but `true` is false, never an error.
    let r = plankton(
        &s,
        Method::PUT,
        &format!("/images/{id}"),
        &s.token,
        &[("X-Image-Meta-Is-Public", "yes")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("x-image-meta-is-public").as_deref(), Some("False"));
}

/// plankton/views.py `list_images`: `sort_key` and `sort_dir` are checked in that order,
/// then `size_max` and `size_min` must be integers ("Malformed request."); the filters are
/// then ignored (plankton/backend.py `_list_images`, a TODO since 96a3cbf62).
#[tokio::test]
async fn plankton_list_query_validation() {
    let s = Sim::start().await;
    for (q, msg) in [
        ("sort_key=owner&sort_dir=up", "Invalid 'sort_key'"),
        ("sort_dir=up&size_max=x", "Invalid 'sort_dir'"),
        ("size_max=&size_min=1", "Malformed request."),
        ("size_min=1.5", "Malformed request."),
    ] {
        let r = s.get(&format!("/image/v1.0/images/?{q}")).await;
        assert_fault(&r, 400, "badRequest", Some(msg));
    }
    let all = s.get("/image/v1.0/images/").await.json()["images"]
        .as_array()
        .unwrap()
        .len();
    let r = s
        .get("/image/v1.0/images/?size_max=1&name=nothing&status=nope&disk_format=x")
        .await;
    assert_eq!(r.json()["images"].as_array().unwrap().len(), all);
}

/// plankton/views.py `add_image` and `validate_fields`, then plankton/backend.py
/// `register`, in their order: fields outside `ADD_FIELDS`, name, location and
/// `split_url`, id, store (a substring of `'pithos'` passes the view, the backend wants
/// exactly `pithos`), formats, the object (another account's is 403), size (any header:
/// it is a string, not an `int`), checksum, the metadata limits. Registering the same
/// object again gives the same image id.
#[tokio::test]
async fn plankton_registration_checks() {
    let s = Sim::start().await;
    let loc = own_location("r.diskdump");
    let post = |h: Vec<(&'static str, String)>| {
        let s = &s;
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            plankton(s, Method::POST, "/images/", &s.token, &h).await
        }
    };
    let base = |extra: &[(&'static str, &str)]| {
        let mut h = vec![
            ("X-Image-Meta-Name", "r".to_string()),
            ("X-Image-Meta-Location", loc.clone()),
        ];
        h.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        h
    };
    type Headers = Vec<(&'static str, String)>;
    let cases: Vec<(Headers, u16, &str)> = vec![
        (
            base(&[
                ("X-Image-Meta-Status", "AVAILABLE"),
                ("X-Image-Meta-Id", "1"),
            ]),
            400,
            "Invalid parameters",
        ),
        (
            vec![("X-Image-Meta-Location", loc.clone())],
            400,
            "Image 'name' parameter is required",
        ),
        (
            vec![
                ("X-Image-Meta-Name", String::new()),
                ("X-Image-Meta-Location", loc.clone()),
            ],
            400,
            "Invalid image name",
        ),
        (
            vec![("X-Image-Meta-Name", "r".into())],
            400,
            "'location' parameter is required",
        ),
        (
            vec![
                ("X-Image-Meta-Name", "r".into()),
                ("X-Image-Meta-Location", "pithos://u/images".into()),
            ],
            400,
            "Invalid location 'pithos://u/images'",
        ),
        (
            base(&[("X-Image-Meta-Id", "1")]),
            400,
            "Setting the image ID is not supported",
        ),
        (
            base(&[
                ("X-Image-Meta-Store", "pithoz"),
                ("X-Image-Meta-Disk-Format", "x"),
            ]),
            400,
            "Invalid store type 'pithoz'",
        ),
        (
            base(&[("X-Image-Meta-Store", "pit")]),
            400,
            "Invalid store 'pit'. Only 'pithos' store is supported",
        ),
        (
            base(&[("X-Image-Meta-Disk-Format", "qcow2")]),
            400,
            "Invalid disk format 'qcow2'",
        ),
        (
            base(&[("X-Image-Meta-Container-Format", "baree")]),
            400,
            "Invalid container format 'baree'",
        ),
        (
            vec![
                ("X-Image-Meta-Name", "r".into()),
                (
                    "X-Image-Meta-Location",
                    "pithos://someone-else/images/r".into(),
                ),
                ("X-Image-Meta-Size", "x".into()),
            ],
            403,
            "",
        ),
        (
            base(&[("X-Image-Meta-Size", "1073741824")]),
            400,
            "Invalid 'size' field",
        ),
        (
            base(&[("X-Image-Meta-Checksum", "abc")]),
            400,
            "Invalid checksum field",
        ),
        (
            base(&[("X-Image-Meta-Property-K", &"v".repeat(257))]),
            400,
            "Metadata values should be less than 256 characters.",
        ),
        (base(&[("X-Image-Meta-Property-K", "")]), 200, ""),
    ];
    for (h, status, msg) in cases {
        let r = post(h.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{h:?}: {}", r.text);
        if status != 200 {
            let name = if status == 403 {
                "forbidden"
            } else {
                "badRequest"
            };
            assert_fault(&r, status, name, Some(msg));
        }
    }
    // Long property names: `plankton:property:<name>` must fit in 111 characters.
    let fits: &'static str = format!("X-Image-Meta-Property-{}", "k".repeat(93)).leak();
    let too_long: &'static str = format!("X-Image-Meta-Property-{}", "k".repeat(94)).leak();
    let long_loc = own_location("long.diskdump");
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "l"),
            ("X-Image-Meta-Location", &long_loc),
            (fits, "v"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "l"),
            ("X-Image-Meta-Location", &long_loc),
            (too_long, "v"),
        ],
    )
    .await;
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Metadata keys should be less than 111 characters"),
    );
    // The same object again: the same id, properties merged, the checksum now known.
    let first = post(base(&[("X-Image-Meta-Property-A", "1")])).await;
    let id = first.header("x-image-meta-id").unwrap();
    let sum = first.header("x-image-meta-checksum").unwrap();
    let again = post(base(&[("X-Image-Meta-Property-B", "2")])).await;
    assert_eq!(
        again.header("x-image-meta-id").as_deref(),
        Some(id.as_str())
    );
    let again = post(base(&[("X-Image-Meta-Checksum", sum.as_str())])).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let v = s.get(&format!("/compute/v2.0/images/{id}")).await.json();
    assert_eq!(v["image"]["metadata"], json!({"a": "1", "b": "2"}));
}

/// plankton/views.py `update_image` (`UPDATE_FIELDS`, then `validate_fields`) before
/// plankton/backend.py `update_metadata` finds the image (Pithos `get_object_by_uuid`: not a
/// UUID 400, unknown 404, unreadable 403 — all with an empty message) and writes it (owner
/// only: 403); properties are merged and an empty value removes one.
#[tokio::test]
async fn plankton_update_order_and_lookup_faults() {
    let s = Sim::start().await;
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "u"),
            ("X-Image-Meta-Location", &own_location("u.diskdump")),
            ("X-Image-Meta-Property-A", "1"),
            ("X-Image-Meta-Property-B", "2"),
        ],
    )
    .await;
    let id = r.header("x-image-meta-id").unwrap();
    let unknown = "11111111-2222-4333-8444-555555555555";
    for (path, h, status, msg) in [
        (
            unknown.to_string(),
            ("X-Image-Meta-Size", "1"),
            400,
            "Invalid metadata",
        ),
        (
            unknown.to_string(),
            ("X-Image-Meta-Disk-Format", "raw"),
            400,
            "Invalid disk format 'raw'",
        ),
        (
            "not-a-uuid".to_string(),
            ("X-Image-Meta-Name", "x"),
            400,
            "",
        ),
        (unknown.to_string(), ("X-Image-Meta-Name", "x"), 404, ""),
    ] {
        let r = plankton(&s, Method::PUT, &format!("/images/{path}"), &s.token, &[h]).await;
        let name = if status == 404 {
            "itemNotFound"
        } else {
            "badRequest"
        };
        assert_fault(&r, status, name, Some(msg));
    }
    // Another user: cannot read it (403), and once shared, still cannot write it.
    let r = plankton(&s, Method::HEAD, &format!("/images/{id}"), OTHER_TOKEN, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = plankton(&s, Method::PUT, &format!("/images/{id}"), OTHER_TOKEN, &[]).await;
    assert_fault(&r, 403, "forbidden", Some(""));
    plankton(
        &s,
        Method::PUT,
        &format!("/images/{id}/members/{OTHER_UUID}"),
        &s.token,
        &[],
    )
    .await;
    let r = plankton(&s, Method::PUT, &format!("/images/{id}"), OTHER_TOKEN, &[]).await;
    assert_fault(&r, 403, "forbidden", Some(""));
    let r = plankton(
        &s,
        Method::DELETE,
        &format!("/images/{id}"),
        OTHER_TOKEN,
        &[],
    )
    .await;
    assert_fault(&r, 403, "forbidden", Some(""));
    // Adding a reader already there writes nothing: anyone who reads may do it.
    let r = plankton(
        &s,
        Method::PUT,
        &format!("/images/{id}/members/{OTHER_UUID}"),
        OTHER_TOKEN,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The owner: merged properties, an empty value removes, formats change.
    let r = plankton(
        &s,
        Method::PUT,
        &format!("/images/{id}"),
        &s.token,
        &[
            ("X-Image-Meta-Property-A", ""),
            ("X-Image-Meta-Property-C", "3"),
            ("X-Image-Meta-Container-Format", "ovf"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, "");
    assert_eq!(
        r.header("x-image-meta-container-format").as_deref(),
        Some("ovf")
    );
    let v = s.get(&format!("/compute/v2.0/images/{id}")).await.json();
    assert_eq!(v["image"]["metadata"], json!({"b": "2", "c": "3"}));
    // An empty name removes `plankton:name`; re-reading fails and nothing is kept.
    let r = plankton(
        &s,
        Method::PUT,
        &format!("/images/{id}"),
        &s.token,
        &[("X-Image-Meta-Name", "")],
    )
    .await;
    assert_fault(
        &r,
        404,
        "itemNotFound",
        Some(&format!("Object '{id}' does not exist.")),
    );
    // Removing a member who is not one is a no-op (`remove_user`).
    let r = plankton(
        &s,
        Method::DELETE,
        &format!("/images/{id}/members/nobody"),
        &s.token,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Unregistered: the object is still there, but is no image.
    assert_eq!(
        s.delete(&format!("/image/v1.0/images/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = plankton(&s, Method::HEAD, &format!("/images/{id}"), &s.token, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s.get(&format!("/compute/v2.0/images/{id}")).await;
    assert_fault(
        &r,
        404,
        "itemNotFound",
        Some(&format!("Object '{id}' does not exist.")),
    );
    let r = s.get("/compute/v2.0/images/not-a-uuid").await;
    assert_fault(&r, 400, "badRequest", Some(""));
}

/// plankton/views.py `update_image_members` (`get_attribute` messages) and
/// `list_shared_images`.
#[tokio::test]
async fn plankton_members_body_and_shared_images() {
    let s = Sim::start().await;
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "m"),
            ("X-Image-Meta-Location", &own_location("m.diskdump")),
        ],
    )
    .await;
    let id = r.header("x-image-meta-id").unwrap();
    let path = format!("/image/v1.0/images/{id}/members");
    for (body, msg) in [
        (
            json!({}),
            "Malformed request. Missing attribute 'memberships'.",
        ),
        (
            json!({"memberships": {}}),
            "Malformed request. Invalid 'memberships' field",
        ),
        (json!({"memberships": ["x"]}), "Invalid 'memberships' field"),
        (
            json!({"memberships": [{}]}),
            "Malformed request. Missing attribute 'member_id'.",
        ),
    ] {
        assert_fault(&s.put(&path, body).await, 400, "badRequest", Some(msg));
    }
    let r = s
        .put(&path, json!({"memberships": [{"member_id": OTHER_UUID}]}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let v = s
        .get(&format!(
            "/image/v1.0/shared-images/{}",
            okeanos_sim::DEFAULT_USER_UUID
        ))
        .await
        .json();
    assert_eq!(
        v,
        json!({"shared_images": [{"image_id": id, "can_share": false}]})
    );
}

// ---- Networks and floating IPs ---------------------------------------------------------------

/// api/networks.py `create_network` (type in `Network.FLAVORS`, 400, then in
/// `API_ENABLED_NETWORK_FLAVORS` — `['MAC_FILTERED']` in app_settings/default/api.py —,
/// 403), logic/networks.py `create` (`NETWORK_NAME_LENGTH` 128, "Network name is too
/// long"), `network_to_dict` (`links`, `shared_to_project`), `rename` and `delete`
/// (api/util.py `get_network`: not an integer 400, unknown 404, deleted 400, then public
/// 403, then the name).
#[tokio::test]
async fn network_types_names_body_and_lookups() {
    let s = Sim::start().await;
    let create = |t: &str, name: String| {
        s.post(
            "/network/v2.0/networks",
            json!({"network": {"type": t, "name": name}}),
        )
    };
    assert_fault(
        &create("VLAN", "n".into()).await,
        400,
        "badRequest",
        Some("Invalid network type 'VLAN'"),
    );
    for t in ["IP_LESS_ROUTED", "PHYSICAL_VLAN", "CUSTOM"] {
        assert_fault(
            &create(t, "n".into()).await,
            403,
            "forbidden",
            Some(&format!("Cannot create network of type '{t}'.")),
        );
    }
    assert_fault(
        &create("MAC_FILTERED", "é".repeat(129)).await,
        400,
        "badRequest",
        Some("Network name is too long"),
    );
    let r = create("MAC_FILTERED", "é".repeat(128)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let n = r.json()["network"].clone();
    let id = n["id"].as_str().unwrap().to_string();
    assert_eq!(n["shared_to_project"], false);
    assert_eq!(n["status"], "ACTIVE");
    assert_eq!(n["subnets"], json!([]));
    let href = n["links"][0]["href"].as_str().unwrap();
    assert!(
        href.ends_with(&format!("/network/v2.0/networks/{id}")),
        "{href}"
    );
    assert_eq!(n["links"][1]["rel"], "bookmark");
    let path = format!("/network/v2.0/networks/{id}");
    assert_fault(
        &s.put(&path, json!({"network": {"name": "x".repeat(129)}}))
            .await,
        400,
        "badRequest",
        Some("Network name is too long"),
    );
    assert_fault(
        &s.get("/network/v2.0/networks/abc").await,
        400,
        "badRequest",
        Some("Invalid network ID 'abc'"),
    );
    assert_fault(
        &s.get("/network/v2.0/networks/424242").await,
        404,
        "itemNotFound",
        Some("Network 424242 not found."),
    );
    let public = s.get("/network/v2.0/networks").await.json()["networks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["public"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pub_path = format!("/network/v2.0/networks/{public}");
    assert_fault(
        &s.put(&pub_path, json!({"network": {"name": "x"}})).await,
        403,
        "forbidden",
        Some("Cannot rename the public network."),
    );
    assert_fault(
        &s.delete(&pub_path).await,
        403,
        "forbidden",
        Some("Cannot delete the public network."),
    );
    assert_eq!(s.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_fault(
        &s.delete(&path).await,
        400,
        "badRequest",
        Some("Network has been deleted."),
    );
    assert_fault(
        &s.put(&path, json!({"network": {"name": "x"}})).await,
        400,
        "badRequest",
        Some("Network has been deleted."),
    );
}

/// api/floating_ips.py `ip_to_dict` (`shared_to_project`, no timestamps),
/// `allocate_floating_ip` ("Invalid networkd ID." as written), logic/ips.py
/// `create_floating_ip` and `allocate_ip` (not a pool 409, outside the pools 400, taken
/// 409), `delete_floating_ip` (the row is deleted) and api/util.py `get_floating_ip_by_id`.
#[tokio::test]
async fn floating_ip_bodies_and_checks() {
    let s = Sim::start().await;
    let r = s
        .post("/network/v2.0/floatingips", json!({"floatingip": {}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let f = r.json()["floatingip"].clone();
    let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
    let mut want = vec![
        "deleted",
        "fixed_ip_address",
        "floating_ip_address",
        "floating_network_id",
        "id",
        "instance_id",
        "port_id",
        "shared_to_project",
        "tenant_id",
        "user_id",
    ];
    want.sort();
    assert_eq!(keys, want);
    let net = f["floating_network_id"].as_str().unwrap().to_string();
    let post = |body: Value| s.post("/network/v2.0/floatingips", json!({"floatingip": body}));
    assert_fault(
        &post(json!({"floating_network_id": "x1"})).await,
        400,
        "badRequest",
        Some("Invalid networkd ID."),
    );
    assert_fault(
        &post(json!({"floating_network_id": [1]})).await,
        400,
        "badRequest",
        Some("Malformed request. Invalid 'floating_network_id' field"),
    );
    assert_fault(
        &post(json!({"floating_network_id": net, "floating_ip_address": "10.0.0.1"})).await,
        400,
        "badRequest",
        Some(&format!(
            "Address 10.0.0.1 does not belong to network {net}"
        )),
    );
    let r =
        post(json!({"floating_network_id": net, "floating_ip_address": "83.212.100.100"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let again =
        post(json!({"floating_network_id": net, "floating_ip_address": "83.212.100.100"})).await;
    assert_fault(
        &again,
        409,
        "conflict",
        Some("IP address 83.212.100.100 is already used."),
    );
    let private = s
        .post(
            "/network/v2.0/networks",
            json!({"network": {"type": "MAC_FILTERED", "name": "p"}}),
        )
        .await
        .json()["network"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_fault(
        &post(json!({"floating_network_id": private.parse::<u64>().unwrap()})).await,
        409,
        "conflict",
        Some(&format!(
            "Cannot allocate floating IP. Network {private} is not a floating IP pool."
        )),
    );
    let id = f["id"].as_str().unwrap();
    assert_fault(
        &s.get("/network/v2.0/floatingips/abc").await,
        400,
        "badRequest",
        Some("Invalid Floating IP ID abc"),
    );
    assert_fault(
        &s.get("/network/v2.0/floatingips/999999").await,
        404,
        "itemNotFound",
        Some("Floating IP with ID 999999 does not exist."),
    );
    let since = s.get(&format!("/network/v2.0/floatingips/{id}")).await;
    assert_eq!(since.status, StatusCode::OK);
    assert_eq!(
        s.delete(&format!("/network/v2.0/floatingips/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // The row is gone: `/detail` lists the rest, none deleted.
    let list = s.get("/network/v2.0/floatingips/detail").await.json();
    assert!(
        list["floatingips"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != id && f["deleted"] == false)
    );
}

/// api/compute_urls.py includes api/floating_ips.py `compute_urlpatterns` as
/// `os-floating-ips`: `compute_ip_to_dict` in lists and on allocation (the body is not
/// read), but `get_floating_ip`'s default, network-API view for one address.
#[tokio::test]
async fn compute_os_floating_ips() {
    let s = Sim::start().await;
    let r = s
        .post("/compute/v2.0/os-floating-ips", json!({"anything": 1}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let f = r.json()["floating_ip"].clone();
    assert_eq!(f["fixed_ip"], Value::Null);
    assert_eq!(f["pool"], Value::Null);
    assert_eq!(f["instance_id"], Value::Null);
    let id = f["id"].as_u64().expect("an integer id");
    let ip = f["ip"].as_str().unwrap().to_string();
    let list = s.get("/compute/v2.0/os-floating-ips").await.json();
    assert_eq!(list["floating_ips"][0]["id"], id);
    let one = s
        .get(&format!("/compute/v2.0/os-floating-ips/{id}"))
        .await
        .json();
    assert_eq!(one["floatingip"]["floating_ip_address"], ip.as_str());
    assert_eq!(one["floatingip"]["id"], id.to_string());
    assert_eq!(
        s.delete(&format!("/compute/v2.0/os-floating-ips/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.get("/compute/v2.0/os-floating-ips").await.json(),
        json!({"floating_ips": []})
    );
}

// ---- Compute leftovers -------------------------------------------------------------------

/// api/servers.py `get_server_password` / `delete_server_password`: the password of a new
/// server is kept in `VM_PASSWORD_CACHE` until deleted; without one, 404 with an empty
/// message (`faults.ItemNotFound()`); the server is looked up first.
#[tokio::test]
async fn server_password_is_cached_until_deleted() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/compute/v2.0/servers",
            json!({"server": {"name": "p", "imageRef": UBUNTU, "flavorRef": VLMC}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let pass = r.json()["server"]["adminPass"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/compute/v2.0/servers/{id}/password");
    assert_eq!(s.get(&path).await.json(), json!({"password": pass}));
    assert_eq!(s.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_fault(&s.get(&path).await, 404, "itemNotFound", Some(""));
    assert_eq!(s.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_fault(
        &s.get("/compute/v2.0/servers/999999/password").await,
        404,
        "itemNotFound",
        None,
    );
}

/// logic/servers.py `create` attaches a `source_type: volume` entry wherever it stands,
/// the root included, after volume/util.py `get_volume(..., exception=BadRequest)`
/// ("Invalid volume id", "Volume <id> not found") and its own checks, the type before the
/// status; such a volume is kept at deletion unless asked (`_parse_block_device`).
#[tokio::test]
async fn root_volume_from_an_existing_volume() {
    let s = Sim::start().await;
    let create = |bdm: Value| {
        s.post(
            "/compute/v2.0/servers",
            json!({"server": {"name": "r", "imageRef": UBUNTU, "flavorRef": VLMC,
                              "block_device_mapping_v2": bdm}}),
        )
    };
    let vol = |uuid: Value| json!([{"source_type": "volume", "uuid": uuid, "boot_index": 0}]);
    assert_fault(
        &create(vol(json!("abc"))).await,
        400,
        "badRequest",
        Some("Invalid volume id: abc"),
    );
    assert_fault(
        &create(vol(json!("777777"))).await,
        400,
        "badRequest",
        Some("Volume 777777 not found"),
    );
    // A volume of the other type (1, drbd) than the flavor's (2, ext_vlmc).
    let srv = s.active_server("holder", DRBD).await;
    let drbd_root =
        s.get(&format!("/compute/v2.0/servers/{srv}")).await.json()["server"]["volumes"][0]
            .as_u64()
            .unwrap();
    assert_fault(
        &create(vol(json!(drbd_root.to_string()))).await,
        400,
        "badRequest",
        Some(&format!(
            "Volume '{drbd_root}' has type '1' while flavor's volume type is '2'"
        )),
    );
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "root", "size": 3, "volume_type": 2, "imageRef": UBUNTU}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let vid = r.json()["volume"]["id"].as_str().unwrap().to_string();
    s.wait_for(&format!("/volume/v2.0/volumes/{vid}"), |v| {
        v["volume"]["status"] == "available"
    })
    .await;
    let r = create(vol(json!(vid))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let sid = r.json()["server"]["id"].as_u64().unwrap();
    let v = s.get(&format!("/volume/v2.0/volumes/{vid}")).await.json();
    assert_eq!(v["volume"]["attachments"][0]["server_id"], sid);
    // Now taken: the status, by its DB value, after the type.
    let r = create(vol(json!(vid))).await;
    let (_, msg) = r.fault();
    assert!(
        msg == "Cannot use volume while it is in ATTACHING status"
            || msg == "Cannot use volume while it is in IN_USE status",
        "{msg}"
    );
    assert_eq!(v["volume"]["delete_on_termination"], false);
}

// ---- Volume creation and deletion -----------------------------------------------------------

/// volume/views.py `create_volume` (`size` checks), then volume/volumes.py `create`
/// (`get_volume_type(..., exception=BadRequest)`, detachable), `create_common` (one
/// source) and `_create_volume` (lengths 255, `CYCLADES_VOLUME_MAX_SIZE` 200, a source only
/// for `GANETI_CLONE_PROVIDERS`, the source and its size, "Cloning a volume is not
/// supported"); the request's metadata is not stored (`create` passes `metadata={}`).
#[tokio::test]
async fn volume_creation_checks_in_synnefos_order() {
    let s = Sim::start().await;
    let post = |v: Value| s.post("/volume/v2.0/volumes", json!({ "volume": v }));
    let cases = [
        (
            json!({"display_name": "v"}),
            "Malformed request. Missing attribute 'size'.",
        ),
        (
            json!({"display_name": "v", "size": 1.5}),
            "Malformed request. Invalid 'size' field",
        ),
        (
            json!({"display_name": "v", "size": "x"}),
            "Volume 'size' needs to be a positive integer value. 'x' cannot be accepted.",
        ),
        (
            json!({"display_name": "v", "size": 0}),
            "Volume 'size' needs to be a positive integer value. '0' cannot be accepted.",
        ),
        (
            json!({"display_name": "v", "size": 1}),
            "Invalid volume type id: None",
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": "abc"}),
            "Invalid volume type id: abc",
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": 9}),
            "Volume type 9 not found",
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": 1}),
            "Volume type 'drbd' is not detachable",
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": 2, "imageRef": UBUNTU, "source_volid": "1"}),
            "Volume can not have more than one source!",
        ),
        (
            json!({"display_name": "x".repeat(256), "size": 1, "volume_type": 2}),
            "Volume name is too long",
        ),
        (
            json!({"display_name": "v", "display_description": "d".repeat(256), "size": 1, "volume_type": 2}),
            "Volume description is too long",
        ),
        (
            json!({"display_name": "v", "size": 201, "volume_type": 2}),
            "Maximum volume size is 200GB",
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": 2, "imageRef": "11111111-2222-4333-8444-555555555555"}),
            "Image 11111111-2222-4333-8444-555555555555 not found",
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": 2, "snapshot_id": UBUNTU}),
            &format!("Snapshot {UBUNTU} not found"),
        ),
        (
            json!({"display_name": "v", "size": 1, "volume_type": 2, "source_volid": "1"}),
            "Cloning a volume is not supported",
        ),
    ];
    for (body, msg) in cases {
        assert_fault(&post(body.clone()).await, 400, "badRequest", Some(msg));
    }
    let r =
        post(json!({"display_name": "v", "size": 1, "volume_type": 2, "imageRef": UBUNTU})).await;
    let (_, msg) = r.fault();
    assert!(
        msg.starts_with("Volume size '1073741824' is smaller than image's size '"),
        "{msg}"
    );
    // A source on a volume type whose provider cannot clone (drbd has none), on a server.
    let srv = s.active_server("d", DRBD).await;
    assert_fault(
        &post(json!({"display_name": "v", "size": 5, "server_id": srv, "imageRef": UBUNTU})).await,
        400,
        "badRequest",
        Some("Cannot specify a 'source' attribute for volume type '1' with disk template 'drbd'"),
    );
    assert_fault(
        &post(json!({"display_name": "v", "size": 5, "server_id": srv, "volume_type": 2})).await,
        400,
        "badRequest",
        Some("Cannot create a volume with template 'ext' to a server with volume template 'drbd'."),
    );
    let r = post(json!({"display_name": "v", "size": 1, "volume_type": 2, "metadata": {"k": "v"}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let v = s.get(&format!("/volume/v2.0/volumes/{id}")).await.json();
    assert_eq!(v["volume"]["metadata"], json!({}));
    assert_eq!(v["volume"]["status"], "available");
}

/// volume/volumes.py `delete`: a volume never attached (no `backendjobid`) is marked
/// deleted at once; an attached one is checked by server_attachments.py `delete_volume` —
/// the status before the root ("Cannot delete the root volume of server <vm:…>.").
#[tokio::test]
async fn deleting_volumes_never_attached_and_attached() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "v", "size": 1, "volume_type": 2}}),
        )
        .await;
    let id = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let path = format!("/volume/v2.0/volumes/{id}");
    assert_eq!(s.delete(&path).await.status, StatusCode::ACCEPTED);
    // No job: deleted on the spot.
    let v = s.get(&path).await.json();
    assert_eq!(v["volume"]["status"], "deleted");
    assert_fault(
        &s.delete(&path).await,
        400,
        "badRequest",
        Some(&format!("Volume '{id}' has been deleted.")),
    );
    let srv = s.active_server("r", VLMC).await;
    let root = s.get(&format!("/compute/v2.0/servers/{srv}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    assert_fault(
        &s.delete(&format!("/volume/v2.0/volumes/{root}")).await,
        400,
        "badRequest",
        Some(&format!(
            "Cannot delete the root volume of server <vm:{srv}@backend:1>."
        )),
    );
}

// ---- Snapshot lookups and metadata ------------------------------------------------------------

/// A snapshot of the root volume of a new VLMC server, once AVAILABLE.
async fn available_snapshot(s: &Sim) -> (String, u64) {
    let srv = s.active_server("snap", VLMC).await;
    let root = s.get(&format!("/compute/v2.0/servers/{srv}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root, "metadata": {"k": "v"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["snapshot"]["id"].as_str().unwrap().to_string();
    s.wait_for(&format!("/volume/v2.0/snapshots/{id}"), |v| {
        v["snapshot"]["status"] == "AVAILABLE"
    })
    .await;
    (id, root)
}

/// volume/views.py `create_snapshot` with volume/util.py `get_volume(...,
/// exception=BadRequest)` (400 "Invalid volume id", "Volume <id> not found") and
/// volume/snapshots.py `_check` (attached, status, then the disk template); `get_snapshot`
/// through volume/util.py `get_snapshot` — not a UUID 400, another user's unshared 403,
/// both with an empty message, unknown 404 "Snapshot <id> not found"; the body's
/// `metadata` is always `{}` (`image_to_dict` has no such key).
#[tokio::test]
async fn snapshot_errors_for_volumes_and_other_users() {
    let s = Sim::start().await;
    let post = |vid: Value| {
        s.post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": vid}}),
        )
    };
    assert_fault(
        &post(json!("abc")).await,
        400,
        "badRequest",
        Some("Invalid volume id: abc"),
    );
    assert_fault(
        &post(json!(777777)).await,
        400,
        "badRequest",
        Some("Volume 777777 not found"),
    );
    let drbd = s.active_server("d", DRBD).await;
    let root = s.get(&format!("/compute/v2.0/servers/{drbd}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    assert_fault(
        &post(json!(root)).await,
        400,
        "badRequest",
        Some("Cannot take a snapshot from a volume with volume type '1' and 'drbd' disk template"),
    );
    let (id, _) = available_snapshot(&s).await;
    let path = format!("/volume/v2.0/snapshots/{id}");
    let v = s.get(&path).await.json();
    assert_eq!(v["snapshot"]["metadata"], json!({}));
    let r = s.call_as(OTHER_TOKEN, Method::GET, &path, None).await;
    assert_fault(&r, 403, "forbidden", Some(""));
    let r = s.call_as(OTHER_TOKEN, Method::DELETE, &path, None).await;
    assert_fault(&r, 403, "forbidden", Some(""));
    assert_fault(
        &s.get("/volume/v2.0/snapshots/not-a-uuid").await,
        400,
        "badRequest",
        Some(""),
    );
    let unknown = "11111111-2222-4333-8444-555555555555";
    assert_fault(
        &s.get(&format!("/volume/v2.0/snapshots/{unknown}")).await,
        404,
        "itemNotFound",
        Some(&format!("Snapshot {unknown} not found")),
    );
    // An image is no snapshot.
    assert_fault(
        &s.get(&format!("/volume/v2.0/snapshots/{UBUNTU}")).await,
        404,
        "itemNotFound",
        Some(&format!("Snapshot {UBUNTU} not found")),
    );
    // Published, another user reads it (and lists it) but cannot change it.
    let r = s
        .raw(
            Method::PUT,
            &format!("/image/v1.0/images/{id}"),
            Some(&s.token),
            None,
            None,
            &[("X-Image-Meta-Is-Public", "true")],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let r = s.call_as(OTHER_TOKEN, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = s
        .call_as(OTHER_TOKEN, Method::GET, "/volume/v2.0/snapshots", None)
        .await
        .json();
    assert!(
        list["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str())
    );
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::PUT,
            &path,
            Some(json!({"snapshot": {"display_name": "mine"}})),
        )
        .await;
    assert_fault(&r, 403, "forbidden", Some(""));
}

/// volume/views.py `list_snapshot_metadata`, `update_snapshot_metadata` (POST merges,
/// PUT replaces the whole Plankton domain — the name too, so the snapshot is gone: 404)
/// and `delete_snapshot_metadata_item` (200, a missing key is fine); the properties are
/// those volume/snapshots.py `do_create` writes (`exclude_all_tasks`, `description`, the
/// request's metadata).
#[tokio::test]
async fn snapshot_metadata_endpoints() {
    let s = Sim::start().await;
    let (id, _) = available_snapshot(&s).await;
    let path = format!("/volume/v2.0/snapshots/{id}/metadata");
    let m = s.get(&path).await.json()["metadata"].clone();
    assert_eq!(m["k"], "v");
    assert_eq!(m["exclude_all_tasks"], "yes");
    assert_eq!(m["description"], "");
    assert_fault(
        &s.post(&path, json!({})).await,
        400,
        "badRequest",
        Some("Malformed request. Missing attribute 'metadata'."),
    );
    assert_fault(
        &s.post(&path, json!({"metadata": ["x"]})).await,
        400,
        "badRequest",
        Some("Malformed request. Invalid 'metadata' field"),
    );
    assert_fault(
        &s.post(&path, json!({"metadata": {"k": "v".repeat(257)}}))
            .await,
        400,
        "badRequest",
        Some("Metadata values should be less than 256 characters."),
    );
    let r = s
        .post(&path, json!({"metadata": {"a": "1", "k": ""}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let m = r.json()["metadata"].clone();
    assert_eq!(m["a"], "1");
    assert!(m.get("k").is_none());
    let r = s.call_as(OTHER_TOKEN, Method::GET, &path, None).await;
    assert_fault(&r, 403, "forbidden", Some(""));
    let r = s.delete(&format!("{path}/nope")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text, "");
    assert_eq!(s.delete(&format!("{path}/a")).await.status, StatusCode::OK);
    assert!(s.get(&path).await.json()["metadata"].get("a").is_none());
    let r = s.put(&path, json!({"metadata": {"only": "this"}})).await;
    assert_fault(
        &r,
        404,
        "itemNotFound",
        Some(&format!("Snapshot {id} not found")),
    );
    assert_eq!(
        s.get(&format!("/volume/v2.0/snapshots/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// volume/snapshots.py `do_create`: a snapshot's properties are the request's `metadata`,
/// `exclude_all_tasks` and `description`, then — for a root volume — the server's metadata
/// filtered by `meta_key__in=["OS", "users"]` (an exact, case-sensitive match on
/// PostgreSQL). Nothing is inherited from the image the server was built from (its
/// `OSFAMILY`, `USERS`, … are gone), and `USERS`, `os` or any other key of the server is not
/// copied.
#[tokio::test]
async fn snapshot_properties_copy_only_os_and_users_of_the_server() {
    let s = Sim::start().await;
    let r = s
        .create_server_with(
            "golden",
            VLMC,
            json!({"metadata": {"OS": "ubuntu", "users": "user", "USERS": "root", "os": "x", "role": "db"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.json()["server"]["id"].as_u64().unwrap();
    let srv = s.wait_server(id, "ACTIVE").await;
    let root = srv["volumes"][0].as_u64().unwrap();
    let r = s
        .post(
            "/volume/v2.0/snapshots",
            json!({"snapshot": {"volume_id": root, "display_description": "d", "metadata": {"k": "v"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let snap = r.json()["snapshot"]["id"].as_str().unwrap().to_string();
    s.wait_for(&format!("/volume/v2.0/snapshots/{snap}"), |v| {
        v["snapshot"]["status"] == "AVAILABLE"
    })
    .await;
    let img = s.get(&format!("/compute/v2.0/images/{snap}")).await.json();
    assert_eq!(
        img["image"]["metadata"],
        json!({"OS": "ubuntu", "users": "user", "k": "v", "exclude_all_tasks": "yes", "description": "d"})
    );
}

/// logic/server_attachments.py `attach_volume` compares `volume.volume_type.template` with
/// the server flavor's, and db/models.py `VolumeType.template` is the part of the disk
/// template before `_`: an `ext_archipelago` volume attaches to an `ext_vlmc` server, and
/// the message names the families (its missing space included).
#[tokio::test]
async fn attach_compares_the_template_family() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/volume/v2.0/volumes",
            json!({"volume": {"display_name": "arch", "size": 1, "volume_type": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let vid = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let drbd = s.active_server("drbd", DRBD).await;
    assert_fault(
        &s.post(
            &format!("/compute/v2.0/servers/{drbd}/os-volume_attachments"),
            json!({"volumeAttachment": {"volumeId": vid}}),
        )
        .await,
        400,
        "badRequest",
        Some(
            "Volume and server must have the same volume template. Volume has volume template'ext' while server has 'drbd'",
        ),
    );
    let vlmc = s.active_server("vlmc", VLMC).await;
    let r = s
        .post(
            &format!("/compute/v2.0/servers/{vlmc}/os-volume_attachments"),
            json!({"volumeAttachment": {"volumeId": vid}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    s.wait_volume(&vid, "in_use").await;
}

/// api/util.py `get_image` (called by logic/servers.py `create` through
/// `get_image_dict`) rewords only Plankton's ItemNotFound ("Image '<id>' not found"):
/// `handle_pithos_backend`'s 403 for another user's private image and 400 for an id that is
/// no UUID pass through, with empty messages.
#[tokio::test]
async fn create_server_with_another_users_private_image_is_403() {
    let s = Sim::start().await;
    let loc = format!("pithos://{OTHER_UUID}/images/private.diskdump");
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        OTHER_TOKEN,
        &[
            ("X-Image-Meta-Name", "private"),
            ("X-Image-Meta-Location", &loc),
        ],
    )
    .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let id = r.header("x-image-meta-id").expect("image id");
    let create = |image: String| {
        let s = &s;
        async move {
            s.post(
                "/compute/v2.0/servers",
                json!({"server": {"name": "x", "imageRef": image, "flavorRef": VLMC}}),
            )
            .await
        }
    };
    assert_fault(&create(id).await, 403, "forbidden", Some(""));
    let unknown = "0b2c0d1e-0000-4000-8000-00000000dead";
    assert_fault(
        &create(unknown.into()).await,
        404,
        "itemNotFound",
        Some(&format!("Image '{unknown}' not found")),
    );
    assert_fault(
        &create("not-a-uuid".into()).await,
        400,
        "badRequest",
        Some(""),
    );
}

/// plankton/views.py `update_image` accepts `status` and `owner` (`UPDATE_FIELDS`);
/// plankton/backend.py `update_metadata` stores both as Plankton metadata (their lengths
/// checked by `_prefix_and_validate_metadata`), and `image_to_dict` reports a stored
/// `status` as given, instead of the map's state, while `owner` is never read back (it is
/// the location's account). HEAD maps it with `API_STATUS_FROM_IMAGE_STATUS.get(val.upper(),
/// "UNKNOWN")`, compute's api/images.py `image_to_dict` likewise (AVAILABLE is ACTIVE,
/// progress 100 only then), and volume/volumes.py `_create_volume` boots only from an image
/// whose upper-cased status is AVAILABLE.
#[tokio::test]
async fn plankton_update_stores_status_and_ignores_owner() {
    let s = Sim::start().await;
    let r = plankton(
        &s,
        Method::POST,
        "/images/",
        &s.token,
        &[
            ("X-Image-Meta-Name", "st"),
            ("X-Image-Meta-Location", &own_location("st.diskdump")),
        ],
    )
    .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let id = r.header("x-image-meta-id").expect("image id");
    let update = |h: (&'static str, String)| {
        let (s, id) = (&s, id.clone());
        async move {
            plankton(
                s,
                Method::PUT,
                &format!("/images/{id}"),
                &s.token,
                &[(h.0, &h.1)],
            )
            .await
        }
    };
    let listed = || {
        let (s, id) = (&s, id.clone());
        async move {
            let l = s.get("/image/v1.0/images/detail").await.json();
            l["images"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["id"] == id.as_str())
                .unwrap()["status"]
                .clone()
        }
    };
    let compute = || {
        let (s, id) = (&s, id.clone());
        async move { s.get(&format!("/compute/v2.0/images/{id}")).await.json()["image"].clone() }
    };
    let boot = || {
        let (s, id) = (&s, id.clone());
        async move {
            s.post(
                "/compute/v2.0/servers",
                json!({"server": {"name": "st", "imageRef": id, "flavorRef": VLMC}}),
            )
            .await
        }
    };

    let r = update(("X-Image-Meta-Status", "ERROR".into())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("x-image-meta-status").as_deref(), Some("ERROR"));
    assert_eq!(listed().await, "ERROR");
    let c = compute().await;
    assert_eq!(
        (c["status"].clone(), c["progress"].clone()),
        (json!("ERROR"), json!(0))
    );
    assert_fault(
        &boot().await,
        400,
        "badRequest",
        Some("Cannot create volume from image, while image is in 'ERROR' status"),
    );

    let r = update(("X-Image-Meta-Status", "bogus".into())).await;
    assert_eq!(r.header("x-image-meta-status").as_deref(), Some("UNKNOWN"));
    assert_eq!(listed().await, "bogus");
    assert_eq!(compute().await["status"], "UNKNOWN");

    // Stored as given; only the readers upper-case it.
    let r = update(("X-Image-Meta-Status", "available".into())).await;
    assert_eq!(
        r.header("x-image-meta-status").as_deref(),
        Some("AVAILABLE")
    );
    assert_eq!(listed().await, "available");
    let c = compute().await;
    assert_eq!(
        (c["status"].clone(), c["progress"].clone()),
        (json!("ACTIVE"), json!(100))
    );
    let r = boot().await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);

    let r = update(("X-Image-Meta-Owner", OTHER_UUID.into())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.header("x-image-meta-owner").as_deref(),
        Some(okeanos_sim::DEFAULT_USER_UUID)
    );
    assert_fault(
        &update(("X-Image-Meta-Owner", "o".repeat(257))).await,
        400,
        "badRequest",
        Some("Metadata values should be less than 256 characters."),
    );
}

// ---- 405s and floating-IP actions ----------------------------------------------------------

/// The `Allow` of a 405 is what Synnefo names, joined as it joins them: a demux of the
/// compute or network API (`api.api_method_not_allowed`, rendered by snf_django/lib/api
/// `render_fault` with `','.join(...)`) — api/floating_ips.py `floating_ip_demux` names
/// GET, DELETE though it serves PUT (501); a path routed straight to one
/// `@api.api_method(http_method=…)` view gets that decorator's JSON fault naming its
/// method, even in the volume and image services (volume/urls.py `volumes/detail`,
/// `types`; plankton/urls.py `images/detail`, `shared-images`); their demuxes answer
/// Django's empty `HttpResponseNotAllowed`, `', '.join(...)`, in their own order
/// (plankton/urls.py `demux_members`: DELETE, PUT).
#[tokio::test]
async fn method_not_allowed_names_what_synnefo_names() {
    let s = Sim::start().await;
    let fip = s
        .post("/network/v2.0/floatingips", json!({"floatingip": {}}))
        .await
        .json()["floatingip"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let json_405 = |r: &Resp, allow: &str| {
        assert_fault(r, 405, "notAllowed", Some("Method not allowed"));
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{}", r.text);
    };
    let empty_405 = |r: &Resp, allow: &str| {
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(r.text.is_empty(), "{}", r.text);
        assert_eq!(r.header("allow").as_deref(), Some(allow));
    };
    let path = format!("/network/v2.0/floatingips/{fip}");
    json_405(&s.post(&path, json!({})).await, "GET,DELETE");
    assert_fault(
        &s.put(&path, json!({})).await,
        501,
        "notImplemented",
        Some("Updating a floating IP is not supported."),
    );
    json_405(&s.get(&format!("{path}/action")).await, "POST");
    json_405(&s.delete("/compute/v2.0/servers").await, "GET,POST");
    json_405(
        &s.post("/volume/v2.0/volumes/detail", json!({})).await,
        "GET",
    );
    json_405(&s.post("/volume/v2.0/types", json!({})).await, "GET");
    empty_405(&s.delete("/volume/v2.0/volumes").await, "GET, POST");
    json_405(&s.post("/image/v1.0/images/detail", json!({})).await, "GET");
    empty_405(
        &s.get(&format!("/image/v1.0/images/{UBUNTU}/members/{OTHER_UUID}"))
            .await,
        "DELETE, PUT",
    );
}

/// api/floating_ips.py `floating_ip_action_demux` and `reassign`, logic/ips.py
/// `reassign_floating_ip`: exactly one key, a known action, a dict argument, sharing
/// refused (`CYCLADES_SHARED_RESOURCES_ENABLED = False`), a project required, then the
/// lookup (`get_floating_ip_by_id`); the floating IP moves to the project, which is
/// charged (413 when it has no room), attached or not; 200 with no body.
#[tokio::test]
async fn floating_ip_reassign_action() {
    let s = Sim::start().await;
    let fip = s
        .post("/network/v2.0/floatingips", json!({"floatingip": {}}))
        .await
        .json()["floatingip"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/network/v2.0/floatingips/{fip}/action");
    for (body, status, msg) in [
        (json!({}), 400, "Malformed request."),
        (
            json!({"reassign": {"project": "p"}, "other": {}}),
            400,
            "Malformed request.",
        ),
        (json!({"attach": {}}), 400, "Action attach not supported."),
        (json!({"reassign": "p"}), 400, "Invalid argument."),
        (
            json!({"reassign": {"project": "p", "shared_to_project": true}}),
            403,
            "Sharing resource to the members of the project is not permitted",
        ),
        (json!({"reassign": {}}), 400, "Missing 'project' attribute."),
    ] {
        let name = if status == 403 {
            "forbidden"
        } else {
            "badRequest"
        };
        assert_fault(&s.post(&path, body).await, status, name, Some(msg));
    }
    assert_fault(
        &s.post(
            "/network/v2.0/floatingips/777777/action",
            json!({"reassign": {"project": "p"}}),
        )
        .await,
        404,
        "itemNotFound",
        Some("Floating IP with ID 777777 does not exist."),
    );
    s.sim.backend().set_project_quota(
        "full",
        okeanos_sim::QuotaLimits {
            floating_ips: 0,
            ..Default::default()
        },
    );
    let r = s
        .post(&path, json!({"reassign": {"project": "full"}}))
        .await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.text);
    let r = s
        .post(&path, json!({"reassign": {"project": "shared-1"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text, "");
    let f = s
        .get(&format!("/network/v2.0/floatingips/{fip}"))
        .await
        .json();
    assert_eq!(f["floatingip"]["tenant_id"], "shared-1");
    assert_eq!(f["floatingip"]["shared_to_project"], false);
}

/// logic/subnets.py `get_subnet`: `objects.get(id=…)` — a ValueError is 400 "Invalid
/// subnet ID '<id>'", a missing subnet 404 "Subnet '<id>' not found.".
#[tokio::test]
async fn subnet_lookup_faults() {
    let s = Sim::start().await;
    assert_fault(
        &s.get("/network/v2.0/subnets/abc").await,
        400,
        "badRequest",
        Some("Invalid subnet ID 'abc'"),
    );
    assert_fault(
        &s.get("/network/v2.0/subnets/987654").await,
        404,
        "itemNotFound",
        Some("Subnet '987654' not found."),
    );
}
