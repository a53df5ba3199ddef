use std::net::IpAddr;

use sluice_config::{TlsClientSettings, TlsServerSettings};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Version};

use super::support::*;
use crate::certgen::{Ca, CertError, Validity, write_dev_set};
use crate::{ServerTls, cert_info, client_config};

#[tokio::test]
async fn write_dev_set_writes_private_keys_0600_and_works_for_mtls() {
    init();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("certs");
    let written = write_dev_set(&out, &hosts(), 3, "dev-client").expect("dev set");
    let names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        [
            "ca.crt",
            "ca.key",
            "server.crt",
            "server.key",
            "client.crt",
            "client.key"
        ]
    );
    #[cfg(unix)]
    for path in &written {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        if path.extension().is_some_and(|e| e == "key") {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    assert!(
        std::fs::read_dir(&out).expect("dir").count() == 6,
        "no temporary files left"
    );

    let server = TlsServerSettings {
        cert_file: Some(out.join("server.crt")),
        key_file: Some(out.join("server.key")),
        client_ca_file: Some(out.join("ca.crt")),
        ..Default::default()
    };
    let tls = ServerTls::load(&server, OWNER).expect("load dev set");
    let (listener, addr) = listen().await;
    echo_server(listener, tls);
    let client = TlsClientSettings {
        ca_file: Some(out.join("ca.crt")),
        cert_file: Some(out.join("client.crt")),
        key_file: Some(out.join("client.key")),
        ..Default::default()
    };
    let config = client_config(&client, "exporters.otlp.tls").expect("client config");
    let mut stream = connect(addr, config).await.expect("mTLS handshake");
    assert_eq!(round_trip(&mut stream, b"dev").await.expect("echo"), b"dev");
}

#[test]
fn server_cert_has_hosts_as_sans_and_first_host_as_cn() {
    let ca = Ca::new("Test CA", Validity::days(1)).expect("CA");
    let hosts = vec![
        "otel.example".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let issued = ca.issue_server(&hosts, Validity::days(1)).expect("cert");
    let der = der_of(&issued.cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).expect("parse");
    assert_eq!(cert.version(), X509Version::V3);
    let sans = cert.subject_alternative_name().expect("ext").expect("SANs");
    let ips: Vec<IpAddr> = sans
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::IPAddress(b) if b.len() == 4 => {
                Some(IpAddr::from(<[u8; 4]>::try_from(*b).ok()?))
            }
            GeneralName::IPAddress(b) => Some(IpAddr::from(<[u8; 16]>::try_from(*b).ok()?)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ips,
        vec![
            "127.0.0.1".parse::<IpAddr>().expect("ip"),
            "::1".parse().expect("ip")
        ]
    );
    let info = cert_info(&der).expect("info");
    assert_eq!(info.common_name.as_deref(), Some("otel.example"));
    assert_eq!(info.sans, vec!["otel.example".to_string()]);
    assert!(cert.validity().is_valid());
}

#[test]
fn expired_validity_makes_an_expired_cert() {
    let ca = Ca::new("Test CA", Validity::days(1)).expect("CA");
    let issued = ca.issue_client("old", Validity::expired()).expect("cert");
    let der = der_of(&issued.cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).expect("parse");
    assert!(!cert.validity().is_valid());
    assert!(
        !format!("{issued:?}").contains("PRIVATE KEY"),
        "Debug must redact the key"
    );
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let ca = Ca::new("Test CA", Validity::days(1)).expect("CA");
    assert!(matches!(
        ca.issue_server(&[], Validity::days(1)),
        Err(CertError::NoHosts)
    ));
    let err = ca
        .issue_server(&["bad host!".to_string()], Validity::days(1))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("invalid host \"bad host!\""),
        "{err}"
    );
    let err = Ca::new("Huge", Validity::days(u32::MAX)).unwrap_err();
    assert!(matches!(err, CertError::Validity { .. }), "{err}");
}
