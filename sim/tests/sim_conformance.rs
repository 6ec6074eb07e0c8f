//! Conformance of the simulator to docs/SYNNEFO-API.md, over real HTTP: conventions (§0),
//! identity (§1) and compute (§2).

#[path = "sim_support/mod.rs"]
mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

// ---- §1 identity -------------------------------------------------------------------

#[tokio::test]
async fn identity_token_form_returns_access_with_catalog_of_this_simulator() {
    let s = Sim::start().await;
    let r = s
        .raw(
            Method::POST,
            "/identity/v2.0/tokens",
            None,
            Some("application/json"),
            Some(
                json!({"auth": {"token": {"id": s.token}}})
                    .to_string()
                    .into_bytes(),
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let access = &v["access"];
    assert_eq!(access["token"]["id"], s.token.as_str());
    assert_eq!(
        access["token"]["tenant"]["id"],
        okeanos_sim::DEFAULT_USER_UUID
    );
    assert!(
        access["token"]["expires"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    assert_eq!(access["user"]["id"], okeanos_sim::DEFAULT_USER_UUID);
    assert_eq!(access["user"]["roles"][0]["name"], "default");
    let url = |kind: &str| {
        access["serviceCatalog"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
            .map(|e| e["endpoints"][0]["publicURL"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(url("compute"), format!("{}/compute/v2.0", s.base));
    assert_eq!(url("volume"), format!("{}/volume", s.base));
    assert_eq!(url("image"), format!("{}/image", s.base));
    assert_eq!(url("network"), format!("{}/network", s.base));
    assert_eq!(url("account"), format!("{}/account/v1.0", s.base));
}

#[tokio::test]
async fn identity_password_credentials_form() {
    let s = Sim::start().await;
    let body = json!({"auth": {"passwordCredentials": {"username": okeanos_sim::DEFAULT_USER_UUID, "password": s.token},
        "tenantName": okeanos_sim::DEFAULT_USER_UUID}});
    let r = s
        .raw(
            Method::POST,
            "/identity/v2.0/tokens",
            None,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["access"]["user"]["id"],
        okeanos_sim::DEFAULT_USER_UUID
    );
}

#[tokio::test]
async fn identity_empty_body_gives_catalog_only() {
    let s = Sim::start().await;
    let r = s
        .raw(Method::POST, "/identity/v2.0/tokens", None, None, None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert!(v["access"]["serviceCatalog"].is_array());
    assert!(v["access"].get("token").is_none());
}

#[tokio::test]
async fn identity_errors() {
    let s = Sim::start().await;
    let post = |b: serde_json::Value| {
        let s = &s;
        async move {
            s.raw(
                Method::POST,
                "/identity/v2.0/tokens",
                None,
                Some("application/json"),
                Some(b.to_string().into_bytes()),
                &[],
            )
            .await
            .unwrap()
        }
    };
    assert_fault(
        &post(json!({"auth": {}})).await,
        400,
        "badRequest",
        Some("Malformed request: missing credentials"),
    );
    assert_fault(
        &post(json!({"auth": {"token": {"id": "nope"}}})).await,
        401,
        "unauthorized",
        Some("Invalid token"),
    );
    assert_fault(
        &post(
            json!({"auth": {"passwordCredentials": {"username": "someone", "password": s.token}}}),
        )
        .await,
        401,
        "unauthorized",
        Some("Invalid credentials"),
    );
    assert_fault(
        &post(json!({"auth": {"token": {"id": s.token}, "tenantName": "another"}})).await,
        400,
        "badRequest",
        Some("Not conforming tenantName"),
    );
}

#[tokio::test]
async fn identity_get_is_405_with_allow_post() {
    let s = Sim::start().await;
    let r = s
        .raw(Method::GET, "/identity/v2.0/tokens", None, None, None, &[])
        .await
        .unwrap();
    assert_fault(&r, 405, "notAllowed", Some("Method not allowed"));
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
}

// ---- §0 conventions ----------------------------------------------------------------

#[tokio::test]
async fn missing_and_invalid_tokens_are_401() {
    let s = Sim::start().await;
    let r = s
        .raw(Method::GET, "/compute/v2.0/servers", None, None, None, &[])
        .await
        .unwrap();
    assert_fault(
        &r,
        401,
        "unauthorized",
        Some("Access denied. No authentication token"),
    );
    let r = s
        .raw(
            Method::GET,
            "/compute/v2.0/servers",
            Some("bogus"),
            None,
            None,
            &[],
        )
        .await
        .unwrap();
    assert_fault(&r, 401, "unauthorized", None);
}

#[tokio::test]
async fn token_as_query_parameter_works() {
    let s = Sim::start().await;
    let r = s
        .raw(
            Method::GET,
            &format!("/compute/v2.0/flavors?X-Auth-Token={}", s.token),
            None,
            None,
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_url_is_400_api_endpoint_not_found() {
    let s = Sim::start().await;
    for path in [
        "/compute/v2.0/nothing",
        "/volume/v2.0/whatever",
        "/foo",
        "/compute/v2.0/servers/1/unknown",
    ] {
        assert_fault(
            &s.get(path).await,
            400,
            "badRequest",
            Some("API endpoint not found"),
        );
    }
}

#[tokio::test]
async fn wrong_method_compute_and_network_405_json_with_allow() {
    let s = Sim::start().await;
    let r = s.delete("/compute/v2.0/servers").await;
    assert_fault(&r, 405, "notAllowed", Some("Method not allowed"));
    // snf_django/lib/api `render_fault`: `','.join(fault.allowed_methods)`.
    assert_eq!(r.header("allow").as_deref(), Some("GET,POST"));
    let r = s.delete("/network/v2.0/networks").await;
    assert_fault(&r, 405, "notAllowed", None);
    assert!(r.header("allow").is_some());
}

#[tokio::test]
async fn wrong_method_volume_and_image_405_empty_body() {
    let s = Sim::start().await;
    let r = s.delete("/volume/v2.0/volumes").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.text.is_empty());
    assert_eq!(r.header("allow").as_deref(), Some("GET, POST"));
    let r = s.delete("/image/v1.0/images/").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.text.is_empty());
}

#[tokio::test]
async fn response_headers_follow_synnefo() {
    let s = Sim::start().await;
    let r = s.get("/compute/v2.0/flavors").await;
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(r.header("vary").as_deref(), Some("X-Auth-Token"));
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("no-cache, no-store, must-revalidate")
    );
}

#[tokio::test]
async fn content_type_rules() {
    let s = Sim::start().await;
    let body = Some(br#"{"server":{}}"#.to_vec());
    let r = s
        .raw(
            Method::POST,
            "/compute/v2.0/servers",
            Some(&s.token),
            None,
            body.clone(),
            &[],
        )
        .await
        .unwrap();
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Missing Content-Type header field"),
    );
    let r = s
        .raw(
            Method::POST,
            "/compute/v2.0/servers",
            Some(&s.token),
            Some("text/plain"),
            body,
            &[],
        )
        .await
        .unwrap();
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Unsupported Content-type: 'text/plain'"),
    );
    let r = s
        .raw(
            Method::POST,
            "/compute/v2.0/servers",
            Some(&s.token),
            Some("application/json"),
            Some(b"{oops".to_vec()),
            &[],
        )
        .await
        .unwrap();
    assert_fault(
        &r,
        400,
        "badRequest",
        Some("Could not decode request body as JSON"),
    );
}

// ---- §2 flavors --------------------------------------------------------------------

#[tokio::test]
async fn flavors_list_is_the_generated_grid() {
    let s = Sim::start().await;
    let v = s.get("/compute/v2.0/flavors").await.json();
    let list = v["flavors"].as_array().unwrap();
    assert_eq!(list.len(), 97, "96 combinations + one allow_create=false");
    assert!(
        list.iter()
            .all(|f| f["id"].is_u64() && f["links"].is_array() && f.get("ram").is_none())
    );
    assert!(list.iter().any(|f| f["name"] == "C2R2048D10ext_vlmc"));
}

#[tokio::test]
async fn flavors_detail_fields() {
    let s = Sim::start().await;
    let v = s.get(&format!("/compute/v2.0/flavors/{VLMC}")).await.json();
    let f = &v["flavor"];
    assert_eq!(f["name"], "C1R1024D10ext_vlmc");
    assert_eq!(
        (f["ram"].as_u64(), f["disk"].as_u64(), f["vcpus"].as_u64()),
        (Some(1024), Some(10), Some(1))
    );
    assert_eq!(f["SNF:disk_template"], "ext_vlmc");
    assert_eq!(f["SNF:volume_type"], 2);
    assert_eq!(f["SNF:allow_create"], true);
    assert_eq!(f["os-flavor-access:is_public"], true);
    let d = s
        .get("/compute/v2.0/flavors/detail?SNF:is_public=true")
        .await
        .json();
    assert!(
        d["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["SNF:volume_type"].is_u64())
    );
}

#[tokio::test]
async fn deleted_flavor_readable_by_id_but_not_listed_and_unknown_is_404() {
    let s = Sim::start().await;
    assert_eq!(
        s.get("/compute/v2.0/flavors/901").await.status,
        StatusCode::OK
    );
    let v = s.get("/compute/v2.0/flavors").await.json();
    assert!(
        !v["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == 901)
    );
    assert_fault(
        &s.get("/compute/v2.0/flavors/12345").await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn flavor_without_allow_create_is_403() {
    let s = Sim::start().await;
    let r = s.create_server_with("x", 900, json!({})).await;
    assert_fault(&r, 403, "forbidden", None);
}

// ---- §2 images (compute view) --------------------------------------------------------

#[tokio::test]
async fn compute_images_include_the_documented_ubuntu() {
    let s = Sim::start().await;
    let v = s.get("/compute/v2.0/images/detail").await.json();
    let img = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == UBUNTU)
        .unwrap()
        .clone();
    assert_eq!(img["name"], "CELAR-Ubuntu-14.04-LTS");
    assert_eq!(img["status"], "ACTIVE");
    assert_eq!(img["public"], true);
    assert_eq!(img["is_snapshot"], false);
    assert_eq!(img["metadata"]["OSFAMILY"], "linux");
    assert_eq!(img["metadata"]["OS"], "ubuntu");
    assert_eq!(img["metadata"]["USERS"], "user");
    assert_eq!(img["metadata"]["ROOT_PARTITION"], "1");
    assert_eq!(img["metadata"]["DESCRIPTION"], "Ubuntu 14.04.1 LTS");
    let short = s.get("/compute/v2.0/images").await.json();
    assert!(short["images"].as_array().unwrap().len() >= 4);
}

#[tokio::test]
async fn compute_image_by_id_and_unknown_404() {
    let s = Sim::start().await;
    let v = s
        .get(&format!("/compute/v2.0/images/{UBUNTU}"))
        .await
        .json();
    assert_eq!(v["image"]["progress"], 100);
    assert!(v["image"]["created"].is_string() && v["image"]["updated"].is_string());
    assert_fault(
        &s.get("/compute/v2.0/images/00000000-0000-0000-0000-000000000000")
            .await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn image_metadata_of_foreign_public_image_is_readable_not_writable() {
    let s = Sim::start().await;
    let v = s
        .get(&format!("/compute/v2.0/images/{UBUNTU}/metadata/OS"))
        .await
        .json();
    assert_eq!(v, json!({"meta": {"OS": "ubuntu"}}));
    let r = s
        .post(
            &format!("/compute/v2.0/images/{UBUNTU}/metadata"),
            json!({"metadata": {"X": "1"}}),
        )
        .await;
    assert_fault(&r, 403, "forbidden", None);
}

// ---- §2 server create validation -------------------------------------------------------

#[tokio::test]
async fn create_requires_name_image_flavor() {
    let s = Sim::start().await;
    for server in [
        json!({"imageRef": UBUNTU, "flavorRef": VLMC}),
        json!({"name": "a", "flavorRef": VLMC}),
        json!({"name": "a", "imageRef": UBUNTU}),
    ] {
        let r = s
            .post("/compute/v2.0/servers", json!({"server": server}))
            .await;
        assert_fault(&r, 400, "badRequest", None);
    }
    assert_fault(
        &s.post("/compute/v2.0/servers", json!({"nothing": {}}))
            .await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn create_rejects_long_names_and_bad_metadata() {
    let s = Sim::start().await;
    let r = s
        .create_server_with(&"x".repeat(256), VLMC, json!({}))
        .await;
    assert_fault(&r, 400, "badRequest", None);
    let meta: serde_json::Map<String, serde_json::Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_fault(
        &s.create_server_with("m", VLMC, json!({"metadata": meta}))
            .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.create_server_with("m", VLMC, json!({"metadata": {"k".repeat(51): "v"}}))
            .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.create_server_with("m", VLMC, json!({"metadata": {"k": "v".repeat(501)}}))
            .await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn personality_limits_are_413() {
    let s = Sim::start().await;
    let one = json!({"path": "/root/a", "contents": "aGVsbG8=", "owner": "root", "group": "root", "mode": 384});
    let six: Vec<_> = (0..6).map(|_| one.clone()).collect();
    assert_fault(
        &s.create_server_with("p", VLMC, json!({"personality": six}))
            .await,
        413,
        "overLimit",
        None,
    );
    // base64 of 10241 bytes "a…a": one byte over the limit.
    let big = format!("{}YWE=", "YWFh".repeat(3413));
    let r = s
        .create_server_with(
            "p",
            VLMC,
            json!({"personality": [{"path": "/x", "contents": big}]}),
        )
        .await;
    assert_fault(&r, 413, "overLimit", None);
    let five: Vec<_> = (0..5).map(|_| one.clone()).collect();
    assert_eq!(
        s.create_server_with("p", VLMC, json!({"personality": five}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn user_data_and_admin_pass_and_key_names_rules() {
    let s = Sim::start().await;
    assert_fault(
        &s.create_server_with("u", VLMC, json!({"user_data": "!!!not base64"}))
            .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.create_server_with("u", VLMC, json!({"adminPass": "short1A"}))
            .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.create_server_with("u", VLMC, json!({"adminPass": "alllowercase123"}))
            .await,
        400,
        "badRequest",
        None,
    );
    let r = s
        .create_server_with("u", VLMC, json!({"adminPass": "GoodPassw0rd"}))
        .await;
    assert_eq!(r.json()["server"]["adminPass"], "GoodPassw0rd");
    assert_fault(
        &s.create_server_with("u", VLMC, json!({"key_name": "a", "SNF:key_names": ["b"]}))
            .await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn unknown_image_flavor_or_key_is_404() {
    let s = Sim::start().await;
    let r = s.post("/compute/v2.0/servers", json!({"server": {"name": "x", "imageRef": "00000000-0000-0000-0000-000000000000", "flavorRef": VLMC}})).await;
    assert_fault(&r, 404, "itemNotFound", None);
    assert_fault(
        &s.create_server_with("x", 4242, json!({})).await,
        404,
        "itemNotFound",
        None,
    );
    assert_fault(
        &s.create_server_with("x", VLMC, json!({"key_name": "nokey"}))
            .await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn create_returns_202_build_record_with_admin_pass() {
    let s = Sim::start().await;
    let r = s
        .create_server_with(
            "web",
            VLMC,
            json!({"metadata": {"OS": "ubuntu", "USERS": "user"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.header("location").is_none());
    let v = r.json();
    let srv = &v["server"];
    assert_eq!(srv["status"], "BUILD");
    assert_eq!(srv["progress"], 0);
    assert!(srv["adminPass"].as_str().unwrap().len() >= 10);
    assert!(srv["id"].is_u64());
    assert_eq!(srv["metadata"]["OS"], "ubuntu");
    assert_eq!(srv["flavor"]["id"], VLMC);
    assert_eq!(srv["image"]["id"], UBUNTU);
    assert_eq!(srv["user_id"], okeanos_sim::DEFAULT_USER_UUID);
    assert_eq!(srv["tenant_id"], okeanos_sim::DEFAULT_USER_UUID);
}

// ---- §2 server lifecycle ---------------------------------------------------------------

#[tokio::test]
async fn build_then_active_with_public_ipv4_and_ipv6() {
    let s = Sim::start().await;
    let id = s.create_server("vm", VLMC).await;
    let srv = s.wait_server(id, "ACTIVE").await;
    assert_eq!(srv["progress"], 100);
    let atts = srv["attachments"].as_array().unwrap();
    assert!(
        atts.iter()
            .any(|a| a["ipv4"].as_str().unwrap().starts_with("83.212."))
    );
    assert!(
        atts.iter()
            .any(|a| a["ipv6"].as_str().unwrap().contains(':'))
    );
    assert!(
        atts.iter()
            .all(|a| a["OS-EXT-IPS:type"] == "fixed" && a["mac_address"].is_string())
    );
    let addrs = srv["addresses"].as_object().unwrap();
    let versions: Vec<u64> = addrs
        .values()
        .flat_map(|l| {
            l.as_array()
                .unwrap()
                .iter()
                .map(|a| a["version"].as_u64().unwrap())
        })
        .collect();
    assert!(versions.contains(&4) && versions.contains(&6));
    assert_eq!(srv["security_groups"], json!([{"name": "default"}]));
    assert_eq!(srv["volumes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn progress_rises_during_build() {
    let s = Sim::with(okeanos_sim::SimConfig {
        timings: okeanos_sim::Timings {
            build: std::time::Duration::from_millis(2000),
            ..quick()
        },
        ..Default::default()
    })
    .await;
    let id = s.create_server("slow", VLMC).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    let p = v["server"]["progress"].as_u64().unwrap();
    assert!(v["server"]["status"] == "BUILD" && p > 0 && p < 100, "{v}");
    assert_eq!(v["server"]["SNF:task_state"], "BUILDING");
}

#[tokio::test]
async fn list_and_detail_shapes() {
    let s = Sim::start().await;
    let id = s.create_server("a", VLMC).await;
    let v = s.get("/compute/v2.0/servers").await.json();
    let item = &v["servers"][0];
    assert_eq!(item["id"], id);
    assert_eq!(item["name"], "a");
    assert!(item["links"].is_array() && item.get("status").is_none());
    let d = s.get("/compute/v2.0/servers/detail").await.json();
    let srv = &d["servers"][0];
    for key in [
        "id",
        "name",
        "user_id",
        "tenant_id",
        "status",
        "SNF:task_state",
        "progress",
        "created",
        "updated",
        "flavor",
        "image",
        "metadata",
        "attachments",
        "addresses",
        "volumes",
        "key_name",
        "suspended",
        "deleted",
        "SNF:fqdn",
        "hostId",
        "security_groups",
    ] {
        assert!(srv.get(key).is_some(), "missing {key}");
    }
}

#[tokio::test]
async fn servers_of_other_users_are_invisible() {
    let s = Sim::start().await;
    let id = s.create_server("mine", VLMC).await;
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            &format!("/compute/v2.0/servers/{id}"),
            None,
        )
        .await;
    assert_fault(&r, 404, "itemNotFound", None);
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::GET,
            "/compute/v2.0/servers/detail",
            None,
        )
        .await;
    assert_eq!(r.json()["servers"], json!([]));
    let r = s
        .call_as(
            OTHER_TOKEN,
            Method::DELETE,
            &format!("/compute/v2.0/servers/{id}"),
            None,
        )
        .await;
    assert_fault(&r, 404, "itemNotFound", None);
}

#[tokio::test]
async fn rename_is_204() {
    let s = Sim::start().await;
    let id = s.create_server("old", VLMC).await;
    let r = s
        .put(
            &format!("/compute/v2.0/servers/{id}"),
            json!({"server": {"name": "new"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["name"],
        "new"
    );
}

#[tokio::test]
async fn delete_is_204_then_deleted_readable_hidden_and_volumes_gone() {
    let s = Sim::start().await;
    let id = s.active_server("doomed", VLMC).await;
    let vol = s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["volumes"][0]
        .as_u64()
        .unwrap();
    let r = s.delete(&format!("/compute/v2.0/servers/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(v["server"]["SNF:task_state"], "DESTROYING");
    assert_eq!(
        v["server"]["status"], "ACTIVE",
        "status keeps its old value during delete"
    );
    let srv = s.wait_server(id, "DELETED").await;
    assert_eq!(srv["deleted"], true);
    assert_eq!(
        s.get("/compute/v2.0/servers").await.json()["servers"],
        json!([])
    );
    let v = s.get(&format!("/volume/v2.0/volumes/{vol}")).await.json();
    assert_eq!(v["volume"]["status"], "deleted");
    assert_fault(
        &s.delete(&format!("/compute/v2.0/servers/{id}")).await,
        400,
        "badRequest",
        Some(&format!("Server '{id}' has been deleted.")),
    );
    assert_fault(
        &s.delete("/compute/v2.0/servers/999999").await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn delete_allowed_while_building() {
    let s = Sim::start().await;
    let id = s.create_server("b", VLMC).await;
    assert_eq!(
        s.delete(&format!("/compute/v2.0/servers/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    s.wait_server(id, "DELETED").await;
}

#[tokio::test]
async fn actions_while_building_are_409_build_in_progress() {
    let s = Sim::start().await;
    let id = s.create_server("b", VLMC).await;
    let r = s.action(id, json!({"shutdown": {}})).await;
    assert_fault(
        &r,
        409,
        "buildInProgress",
        Some(&format!("Server '{id}' is being built.")),
    );
}

#[tokio::test]
async fn shutdown_and_start_keep_status_with_task_until_done() {
    let s = Sim::start().await;
    let id = s.active_server("s", VLMC).await;
    assert_eq!(
        s.action(id, json!({"shutdown": {}})).await.status,
        StatusCode::ACCEPTED
    );
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(
        (
            v["server"]["status"].as_str(),
            v["server"]["SNF:task_state"].as_str()
        ),
        (Some("ACTIVE"), Some("STOPPING"))
    );
    assert_fault(
        &s.action(id, json!({"start": {}})).await,
        400,
        "badRequest",
        Some("Cannot perform 'START' action while there is a pending 'STOP'."),
    );
    s.wait_server(id, "STOPPED").await;
    assert_fault(
        &s.action(id, json!({"shutdown": {}})).await,
        400,
        "badRequest",
        Some("Cannot perform 'STOP' action while server is in 'STOPPED' state."),
    );
    assert_eq!(
        s.action(id, json!({"start": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        s.get(&format!("/compute/v2.0/servers/{id}")).await.json()["server"]["SNF:task_state"],
        "STARTING"
    );
    s.wait_server(id, "ACTIVE").await;
    assert_fault(
        &s.action(id, json!({"start": {}})).await,
        400,
        "badRequest",
        Some("Cannot perform 'START' action while server is in 'STARTED' state."),
    );
}

#[tokio::test]
async fn reboot_goes_through_reboot_status() {
    let s = Sim::start().await;
    let id = s.active_server("r", VLMC).await;
    // api/servers.py `reboot`: `args.get("type", "SOFT")`, so no type is a soft reboot.
    assert_eq!(
        s.action(id, json!({"reboot": {}})).await.status,
        StatusCode::ACCEPTED
    );
    s.wait_server(id, "ACTIVE").await;
    assert_eq!(
        s.action(id, json!({"reboot": {"type": "SOFT"}}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(v["server"]["status"], "REBOOT");
    assert_eq!(v["server"]["SNF:task_state"], "REBOOTING");
    s.wait_server(id, "ACTIVE").await;
}

#[tokio::test]
async fn resize_rules() {
    let s = Sim::start().await;
    let id = s.active_server("rz", VLMC).await;
    let flavor = |name: &str| {
        let s = &s;
        let name = name.to_string();
        async move {
            let v = s.get("/compute/v2.0/flavors").await.json();
            v["flavors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name.as_str())
                .unwrap()["id"]
                .as_u64()
                .unwrap()
        }
    };
    let bigger = flavor("C2R2048D10ext_vlmc").await;
    assert_fault(
        &s.action(id, json!({"resize": {"flavorRef": bigger}})).await,
        400,
        "badRequest",
        Some("Cannot perform 'RESIZE' action while server is in 'STARTED' state."),
    );
    s.action(id, json!({"shutdown": {}})).await;
    s.wait_server(id, "STOPPED").await;
    assert_fault(
        &s.action(
            id,
            json!({"resize": {"flavorRef": flavor("C2R2048D20ext_vlmc").await}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.action(
            id,
            json!({"resize": {"flavorRef": flavor("C2R2048D10drbd").await}}),
        )
        .await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.action(id, json!({"resize": {"flavorRef": VLMC}})).await,
        400,
        "badRequest",
        None,
    );
    assert_eq!(
        s.action(id, json!({"resize": {"flavorRef": bigger}}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let v = s.get(&format!("/compute/v2.0/servers/{id}")).await.json();
    assert_eq!(
        (
            v["server"]["status"].as_str(),
            v["server"]["SNF:task_state"].as_str()
        ),
        (Some("STOPPED"), Some("RESIZING"))
    );
    let srv = s.wait_server(id, "STOPPED").await;
    assert_eq!(srv["flavor"]["id"], bigger);
}

#[tokio::test]
async fn console_needs_active() {
    let s = Sim::start().await;
    let id = s.active_server("c", VLMC).await;
    let r = s.action(id, json!({"console": {"type": "vnc"}})).await;
    assert_eq!(r.status, StatusCode::OK);
    let c = &r.json()["console"];
    assert_eq!(c["type"], "vnc");
    assert!(c["host"].is_string() && c["port"].is_u64() && c["password"].is_string());
    s.action(id, json!({"shutdown": {}})).await;
    s.wait_server(id, "STOPPED").await;
    assert_fault(
        &s.action(id, json!({"console": {"type": "vnc"}})).await,
        400,
        "badRequest",
        None,
    );
}

#[tokio::test]
async fn unsupported_and_malformed_actions_are_400() {
    let s = Sim::start().await;
    let id = s.active_server("u", VLMC).await;
    for a in [
        "createImage",
        "confirmResize",
        "revertResize",
        "rebuild",
        "changePassword",
    ] {
        let r = s.action(id, json!({a: {}})).await;
        assert_fault(
            &r,
            400,
            "badRequest",
            Some(&format!("Action {a} not supported")),
        );
    }
    // Several keys: Synnefo acts on `req.keys()[0]`, whichever Python 2's dict yields
    // first (api/servers.py `demux_server_action`); here the first in key order.
    assert_fault(
        &s.action(id, json!({"start": "now"})).await,
        400,
        "badRequest",
        None,
    );
    assert_fault(
        &s.action(999_999, json!({"start": {}})).await,
        404,
        "itemNotFound",
        None,
    );
}

#[tokio::test]
async fn failed_build_goes_to_error_and_actions_are_refused() {
    let s = Sim::start().await;
    s.sim.backend().fail_builds_named("broken");
    let id = s.create_server("a-broken-vm", VLMC).await;
    let srv = s.wait_server(id, "ERROR").await;
    assert_eq!(srv["status"], "ERROR");
    // The reason is the server's latest diagnostic (synnefo/api/servers.py `vm_to_dict`,
    // `diagnostics_to_dict`).
    let diagnostic = &srv["diagnostics"][0];
    assert_eq!(diagnostic["level"], "ERROR", "{srv}");
    assert!(
        diagnostic["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_fault(
        &s.action(id, json!({"reboot": {"type": "HARD"}})).await,
        400,
        "badRequest",
        Some("Cannot perform 'REBOOT' action while server is in 'ERROR' state."),
    );
    let vol = srv["volumes"][0].as_u64().unwrap();
    assert_eq!(
        s.get(&format!("/volume/v2.0/volumes/{vol}")).await.json()["volume"]["status"],
        "error"
    );
    assert_eq!(
        s.delete(&format!("/compute/v2.0/servers/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn fail_next_builds_counts_down() {
    let s = Sim::start().await;
    s.sim.backend().fail_next_builds(1);
    let bad = s.create_server("one", VLMC).await;
    let good = s.create_server("two", VLMC).await;
    s.wait_server(bad, "ERROR").await;
    s.wait_server(good, "ACTIVE").await;
}

// ---- §2 metadata -----------------------------------------------------------------------

#[tokio::test]
async fn server_metadata_endpoints() {
    let s = Sim::start().await;
    let id = s
        .create_server_with("m", VLMC, json!({"metadata": {"a": "1"}}))
        .await
        .json()["server"]["id"]
        .as_u64()
        .unwrap();
    let p = format!("/compute/v2.0/servers/{id}/metadata");
    assert_eq!(s.get(&p).await.json(), json!({"metadata": {"a": "1"}}));
    let r = s.post(&p, json!({"metadata": {"b": "2"}})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json(), json!({"metadata": {"a": "1", "b": "2"}}));
    let r = s.put(&format!("{p}/c"), json!({"meta": {"c": "3"}})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json(), json!({"meta": {"c": "3"}}));
    assert_eq!(
        s.get(&format!("{p}/c")).await.json(),
        json!({"meta": {"c": "3"}})
    );
    assert_eq!(
        s.delete(&format!("{p}/c")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_fault(&s.get(&format!("{p}/c")).await, 404, "itemNotFound", None);
    assert_fault(
        &s.delete(&format!("{p}/zzz")).await,
        404,
        "itemNotFound",
        None,
    );
    assert_fault(
        &s.put(&format!("{p}/c"), json!({"meta": {"d": "3"}})).await,
        400,
        "badRequest",
        None,
    );
}

// ---- §2 key pairs ----------------------------------------------------------------------

#[tokio::test]
async fn keypairs_crud_and_duplicate_409() {
    let s = Sim::start().await;
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc me@host";
    let r = s
        .post(
            "/compute/v2.0/os-keypairs",
            json!({"keypair": {"name": "k1", "public_key": key}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["keypair"]["public_key"], key);
    assert_fault(
        &s.post(
            "/compute/v2.0/os-keypairs",
            json!({"keypair": {"name": "k1", "public_key": key}}),
        )
        .await,
        409,
        "conflict",
        None,
    );
    let l = s.get("/compute/v2.0/os-keypairs").await.json();
    assert_eq!(l["keypairs"][0]["keypair"]["name"], "k1");
    let r = s
        .create_server_with("withkey", VLMC, json!({"key_name": "k1"}))
        .await;
    assert_eq!(r.json()["server"]["key_name"], "k1");
    assert_eq!(
        s.delete("/compute/v2.0/os-keypairs/k1").await.status,
        StatusCode::NO_CONTENT
    );
    assert_fault(
        &s.delete("/compute/v2.0/os-keypairs/k1").await,
        404,
        "itemNotFound",
        None,
    );
    assert_fault(
        &s.call_as(
            OTHER_TOKEN,
            Method::GET,
            "/compute/v2.0/os-keypairs/k1",
            None,
        )
        .await,
        404,
        "itemNotFound",
        None,
    );
}
