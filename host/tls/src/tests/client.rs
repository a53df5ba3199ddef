use sluice_config::TlsClientSettings;

use super::support::*;
use crate::certgen::Validity;
use crate::{ServerTls, TlsError, client_config};

const OWNER: &str = "exporters.otlp/tempo.tls";

#[tokio::test]
async fn skip_verify_connects_to_an_untrusted_server() {
    let pki = Pki::new("Untrusted CA");
    let tls = ServerTls::load(&pki.server_settings(), super::support::OWNER).expect("load");
    let (listener, addr) = listen().await;
    echo_server(listener, tls);
    let settings = TlsClientSettings {
        insecure_skip_verify: true,
        ..Default::default()
    };
    let config = client_config(&settings, OWNER).expect("config");
    let mut stream = connect(addr, config).await.expect("handshake");
    assert_eq!(round_trip(&mut stream, b"hi").await.expect("echo"), b"hi");
}

#[tokio::test]
async fn ca_file_is_used_to_verify_the_server() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), super::support::OWNER).expect("load");
    let (listener, addr) = listen().await;
    echo_server(listener, tls);
    let settings = TlsClientSettings {
        ca_file: Some(pki.write("ca.crt", &pki.ca.cert_pem())),
        ..Default::default()
    };
    let config = client_config(&settings, OWNER).expect("config");
    let mut stream = connect(addr, config).await.expect("handshake");
    assert_eq!(round_trip(&mut stream, b"hi").await.expect("echo"), b"hi");
}

#[test]
fn default_roots_build() {
    init();
    client_config(&TlsClientSettings::default(), OWNER).expect("system or Mozilla roots");
}

#[test]
fn client_cert_without_key_is_refused() {
    let pki = Pki::new("Test CA");
    let app = pki.ca.issue_client("app", Validity::days(1)).expect("cert");
    let settings = TlsClientSettings {
        cert_pem: Some(app.cert_pem),
        ..trusting(&[pki.ca.cert_pem()])
    };
    let err = client_config(&settings, OWNER).unwrap_err();
    assert!(
        matches!(
            err,
            TlsError::Unpaired {
                missing: "key_file",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn client_key_of_another_cert_is_refused() {
    let pki = Pki::new("Test CA");
    let app = pki.ca.issue_client("app", Validity::days(1)).expect("cert");
    let other = pki
        .ca
        .issue_client("other", Validity::days(1))
        .expect("cert");
    let settings = TlsClientSettings {
        cert_pem: Some(app.cert_pem),
        key_pem: Some(other.key_pem),
        ..trusting(&[pki.ca.cert_pem()])
    };
    let err = client_config(&settings, OWNER).unwrap_err();
    assert!(
        err.to_string().contains("key does not match certificate"),
        "{err}"
    );
}

#[test]
fn missing_ca_file_names_it() {
    init();
    let settings = TlsClientSettings {
        ca_file: Some("/nonexistent/ca.crt".into()),
        ..Default::default()
    };
    let err = client_config(&settings, OWNER).unwrap_err();
    assert_eq!(
        err.to_string(),
        "exporters.otlp/tempo.tls.ca_file: cannot read /nonexistent/ca.crt: No such file or directory"
    );
}
