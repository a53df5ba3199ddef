use sluice_config::{TlsServerSettings, TlsVersion};

use super::support::*;
use crate::certgen::Validity;
use crate::{ServerTls, TlsError};

const HTTP_OWNER: &str = "receivers.otlp.protocols.http.tls";

fn load_err(settings: &TlsServerSettings) -> TlsError {
    ServerTls::load(settings, HTTP_OWNER).expect_err("load must fail")
}

#[test]
fn missing_key_file_names_the_field_and_the_file() {
    let pki = Pki::new("Test CA");
    let mut settings = pki.server_settings();
    let missing = pki.dir.path().join("nope.key");
    settings.key_file = Some(missing.clone());
    assert_eq!(
        load_err(&settings).to_string(),
        format!(
            "receivers.otlp.protocols.http.tls.key_file: cannot read {}: No such file or directory",
            missing.display()
        )
    );
}

#[test]
fn cert_file_without_a_certificate_is_refused() {
    let pki = Pki::new("Test CA");
    let mut settings = pki.server_settings();
    let path = pki.write("empty.crt", "just text\n");
    settings.cert_file = Some(path.clone());
    let text = load_err(&settings).to_string();
    assert!(
        text.starts_with(&format!(
            "{HTTP_OWNER}.cert_file {}: no certificate found in PEM",
            path.display()
        )),
        "{text}"
    );
}

#[test]
fn key_file_without_a_key_is_refused() {
    let pki = Pki::new("Test CA");
    let mut settings = pki.server_settings();
    settings.key_file = Some(pki.write("cert-as-key.pem", &pki.server.cert_pem));
    let err = load_err(&settings);
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
}

#[test]
fn key_of_another_certificate_is_refused() {
    let pki = Pki::new("Test CA");
    let other = pki
        .ca
        .issue_server(&hosts(), Validity::days(1))
        .expect("cert");
    let mut settings = pki.server_settings();
    settings.key_file = Some(pki.write("other.key", &other.key_pem));
    let text = load_err(&settings).to_string();
    assert!(
        text.starts_with(&format!("{HTTP_OWNER}: key does not match certificate")),
        "{text}"
    );
    assert!(text.contains("other.key"), "{text}");
}

#[test]
fn cert_is_required() {
    let pki = Pki::new("Test CA");
    let settings = TlsServerSettings {
        cert_file: None,
        ..pki.server_settings()
    };
    assert_eq!(
        load_err(&settings).to_string(),
        format!("{HTTP_OWNER}: cert_file (or cert_pem) is required for a TLS server")
    );
}

#[test]
fn file_and_inline_pem_together_are_refused() {
    let pki = Pki::new("Test CA");
    let settings = TlsServerSettings {
        cert_pem: Some(pki.server.cert_pem.clone()),
        ..pki.server_settings()
    };
    assert_eq!(
        load_err(&settings).to_string(),
        format!("{HTTP_OWNER}: set cert_file or cert_pem, not both")
    );
}

#[test]
fn inline_pem_loads() {
    let pki = Pki::new("Test CA");
    let settings = TlsServerSettings {
        cert_pem: Some(pki.server.cert_pem.clone()),
        key_pem: Some(pki.server.key_pem.clone()),
        ..Default::default()
    };
    let tls = ServerTls::load(&settings, HTTP_OWNER).expect("inline PEM");
    assert_eq!(tls.owner(), HTTP_OWNER);
    assert_eq!(
        tls.current_config().alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    // Nothing to watch: must not fail outside a runtime either.
    tls.start_reloading();
}

#[test]
fn tls11_min_version_is_a_clear_error() {
    let pki = Pki::new("Test CA");
    let settings = TlsServerSettings {
        min_version: Some(TlsVersion::V1_1),
        ..pki.server_settings()
    };
    let err = load_err(&settings);
    assert!(matches!(err, TlsError::UnsupportedVersion { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("min_version: TLS 1.1 is not supported")
    );
}

#[test]
fn client_ca_file_without_certificates_is_refused() {
    let pki = Pki::new("Test CA");
    let settings = TlsServerSettings {
        client_ca_file: Some(pki.write("ca.crt", "")),
        ..pki.server_settings()
    };
    let text = load_err(&settings).to_string();
    assert!(
        text.contains("client_ca_file") && text.contains("no certificate found"),
        "{text}"
    );
}
