//! The verified client certificate names the tenant: its common name or its first DNS SAN.

use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::ServerName;
use sluice_config::{CertificateField, TenantSource, TlsClientSettings, TlsServerSettings};
use sluice_tls::certgen::{Ca, Validity};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::Endpoint;

use super::tenancy::{tenancy, tenants};
use super::{Harness, PROTOBUF, Recorder, fixtures, request, send_on, settings};
use crate::Authenticators;

/// A server certificate from one CA; a client certificate `CN=team-cn` with the SANs
/// `ops@example.com` (e-mail) and `team-san.example.com` from a client CA made with rcgen
/// (certgen's client certificates have no SAN).
struct Pki {
    dir: TempDir,
    server_ca: Ca,
    server: sluice_tls::certgen::Issued,
    client_ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl Pki {
    fn new() -> Pki {
        sluice_tls::install_crypto_provider();
        let server_ca = Ca::new("server CA", Validity::days(1)).unwrap();
        let server = server_ca
            .issue_server(&["127.0.0.1".to_owned()], Validity::days(1))
            .unwrap();

        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "client CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let client_ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let mut params = CertificateParams::new(vec!["team-san.example.com".to_owned()]).unwrap();
        params.subject_alt_names.insert(
            0,
            rcgen::SanType::Rfc822Name("ops@example.com".try_into().unwrap()),
        );
        params
            .distinguished_name
            .push(DnType::CommonName, "team-cn");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        Pki {
            dir: tempfile::tempdir().unwrap(),
            server_ca,
            server,
            client_ca_pem,
            client_cert_pem: cert.pem(),
            client_key_pem: key.serialize_pem(),
        }
    }

    fn server(&self) -> TlsServerSettings {
        let path = self.dir.path().join("client-ca.crt");
        std::fs::write(&path, &self.client_ca_pem).unwrap();
        TlsServerSettings {
            cert_pem: Some(self.server.cert_pem.clone()),
            key_pem: Some(self.server.key_pem.clone()),
            client_ca_file: Some(path),
            ..Default::default()
        }
    }

    fn connector(&self, alpn: &[u8]) -> TlsConnector {
        let settings = TlsClientSettings {
            ca_pem: Some(self.server_ca.cert_pem()),
            cert_pem: Some(self.client_cert_pem.clone()),
            key_pem: Some(self.client_key_pem.clone()),
            ..Default::default()
        };
        let config = sluice_tls::client_config(&settings, "test client").unwrap();
        let mut config = Arc::unwrap_or_clone(config);
        config.alpn_protocols = vec![alpn.to_vec()];
        TlsConnector::from(Arc::new(config))
    }
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("127.0.0.1").unwrap()
}

async fn https_post(pki: &Pki, addr: SocketAddr) -> u16 {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = pki
        .connector(b"http/1.1")
        .connect(server_name(), tcp)
        .await
        .unwrap();
    let body = fixtures::spec_traces().encode_to_vec();
    send_on(tls, request("POST", addr, "/v1/traces", &[PROTOBUF], body))
        .await
        .status
        .as_u16()
}

async fn grpc_export(pki: &Pki, addr: SocketAddr) {
    let connector = pki.connector(b"h2");
    let connect = tower::service_fn(move |_: ::http::Uri| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let tls = connector.connect(server_name(), tcp).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_with_connector(connect)
        .await
        .unwrap();
    TraceServiceClient::new(channel)
        .export(fixtures::spec_traces())
        .await
        .expect("gRPC export");
}

async fn tenants_named_by(field: CertificateField) -> Vec<String> {
    let pki = Pki::new();
    let recorder = Recorder::new();
    let settings = settings(|grpc, http| {
        grpc.tls = Some(pki.server());
        http.tls = Some(pki.server());
    });
    let harness = Harness::start_with_tenancy(
        settings,
        recorder.consumers(),
        &Authenticators::new(),
        &tenancy(vec![TenantSource::ClientCertificate(field)]),
    )
    .await;
    assert_eq!(https_post(&pki, harness.http()).await, 200);
    grpc_export(&pki, harness.grpc()).await;
    tenants(&recorder)
}

#[tokio::test]
async fn the_client_certificate_common_name_names_the_tenant() {
    assert_eq!(
        tenants_named_by(CertificateField::Cn).await,
        ["team-cn", "team-cn"]
    );
}

#[tokio::test]
async fn the_first_dns_san_of_the_client_certificate_names_the_tenant() {
    assert_eq!(
        tenants_named_by(CertificateField::San).await,
        ["team-san.example.com", "team-san.example.com"]
    );
}
