//! TLS is always verified: an untrusted certificate is an error naming the host and saying how
//! to fix it; with the CA in `ca_certs` the same cloud works.

use connector_runtime::client::Client;
use connector_runtime::error::ErrorKind;
use connector_runtime::policy::EgressPolicy;
use connector_runtime::policy::TlsSettings;
use e2e_tests::{okeanos_spec, runtime, start_sim};
use okeanos_sim::{SimConfig, TlsConfig};

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_ca_certs_fixes_it() {
    let sim = start_sim(SimConfig {
        tls: Some(TlsConfig::default()),
        timings: e2e_tests::fast_timings(),
        ..Default::default()
    })
    .await;
    assert!(
        sim.auth_url().starts_with("https://localhost:"),
        "{}",
        sim.auth_url()
    );
    let runtime = runtime();
    let mut spec = okeanos_spec(&sim);
    spec.egress =
        EgressPolicy::parse(&[format!("https://localhost:{}", sim.addr().port())]).unwrap();

    let untrusted = Client::new(
        runtime
            .load(connector_artifacts::OKEANOS_CONNECTOR, spec.clone())
            .unwrap(),
    );
    let e = untrusted.list_flavors().await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Transport), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("localhost"), "names the host: {msg}");
    assert!(msg.contains("ca_certs"), "says how to fix it: {msg}");

    spec.tls = TlsSettings {
        extra_ca_pem: Some(sim.ca_cert_pem().unwrap().into_bytes()),
    };
    let trusted = Client::new(
        runtime
            .load(connector_artifacts::OKEANOS_CONNECTOR, spec)
            .unwrap(),
    );
    let flavors = trusted
        .list_flavors()
        .await
        .expect("trusted with the CA bundle");
    assert!(flavors.iter().any(|f| f.name == "C2R2048D10ext_vlmc"));
}

#[tokio::test]
async fn a_ca_bundle_that_is_not_pem_is_a_clear_error() {
    let sim = start_sim(SimConfig::default()).await;
    let mut spec = okeanos_spec(&sim);
    spec.tls = TlsSettings {
        extra_ca_pem: Some(b"not a certificate".to_vec()),
    };
    let err = runtime()
        .load(connector_artifacts::OKEANOS_CONNECTOR, spec)
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("ca_certs"), "{err:#}");
}
