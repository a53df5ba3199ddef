//! TLS and mTLS on both protocols, with certificates made at test time.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use rustls::pki_types::ServerName;
use sluice_config::{TlsClientSettings, TlsServerSettings};
use sluice_pipeline::Payload;
use sluice_tls::certgen::{Ca, Issued, Validity};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use super::fixtures;
use super::{Harness, PROTOBUF, Recorder, request, send_on, settings, try_send_on};

/// A CA, a server certificate for 127.0.0.1 and a client certificate `CN=app`.
struct Pki {
    dir: TempDir,
    ca: Ca,
    server: Issued,
    client: Issued,
}

impl Pki {
    fn new() -> Pki {
        sluice_tls::install_crypto_provider();
        let ca = Ca::new("Sluice test CA", Validity::days(1)).unwrap();
        let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
        let server = ca.issue_server(&hosts, Validity::days(1)).unwrap();
        let client = ca.issue_client("app", Validity::days(1)).unwrap();
        Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
            server,
            client,
        }
    }

    fn server(&self, mtls: bool) -> TlsServerSettings {
        let client_ca_file = mtls.then(|| {
            let path = self.dir.path().join("ca.crt");
            std::fs::write(&path, self.ca.cert_pem()).unwrap();
            path
        });
        TlsServerSettings {
            cert_pem: Some(self.server.cert_pem.clone()),
            key_pem: Some(self.server.key_pem.clone()),
            client_ca_file,
            ..Default::default()
        }
    }

    fn connector(&self, with_client_cert: bool, alpn: &[u8]) -> TlsConnector {
        let mut settings = TlsClientSettings {
            ca_pem: Some(self.ca.cert_pem()),
            ..Default::default()
        };
        if with_client_cert {
            settings.cert_pem = Some(self.client.cert_pem.clone());
            settings.key_pem = Some(self.client.key_pem.clone());
        }
        let config = sluice_tls::client_config(&settings, "test client").unwrap();
        let mut config = Arc::unwrap_or_clone(config);
        config.alpn_protocols = vec![alpn.to_vec()];
        TlsConnector::from(Arc::new(config))
    }
}

fn server_name() -> ServerName<'static> {
    ServerName::try_from("127.0.0.1").unwrap()
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn https_post(connector: TlsConnector, addr: SocketAddr) -> Result<super::Answer, BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    let tls = connector.connect(server_name(), tcp).await?;
    let body = fixtures::spec_traces().encode_to_vec();
    Ok(try_send_on(tls, request("POST", addr, "/v1/traces", &[PROTOBUF], body)).await?)
}

async fn grpc_channel(
    connector: TlsConnector,
    addr: SocketAddr,
) -> Result<Channel, tonic::transport::Error> {
    let connect = tower::service_fn(move |_: ::http::Uri| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let tls = connector.connect(server_name(), tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_with_connector(connect)
        .await
}

#[tokio::test]
async fn tls_on_both_protocols_serves_clients_that_trust_the_ca() {
    let pki = Pki::new();
    let recorder = Recorder::new();
    let settings = settings(|grpc, http| {
        grpc.tls = Some(pki.server(false));
        http.tls = Some(pki.server(false));
    });
    let harness = Harness::start(settings, recorder.consumers()).await;

    let answer = https_post(pki.connector(false, b"http/1.1"), harness.http())
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let channel = grpc_channel(pki.connector(false, b"h2"), harness.grpc())
        .await
        .unwrap();
    TraceServiceClient::new(channel)
        .export(fixtures::spec_traces())
        .await
        .expect("gRPC over TLS");

    let batches = recorder.batches();
    assert_eq!(batches.len(), 2);
    assert!(
        batches
            .iter()
            .all(|b| b.payload == Payload::Traces(fixtures::spec_traces()))
    );
    assert!(
        batches
            .iter()
            .all(|b| b.context.auth.client_subject.is_none())
    );

    // Plaintext on a TLS port is not served.
    let body = fixtures::spec_traces().encode_to_vec();
    let tcp = TcpStream::connect(harness.http()).await.unwrap();
    let plain = send_on(
        tcp,
        request("POST", harness.http(), "/v1/traces", &[PROTOBUF], body),
    )
    .await;
    assert_eq!(plain.status, 400);
    assert_eq!(recorder.batches().len(), 2);
}

#[tokio::test]
async fn mtls_puts_the_client_certificate_identity_in_the_context() {
    let pki = Pki::new();
    let recorder = Recorder::new();
    let settings = settings(|grpc, http| {
        grpc.tls = Some(pki.server(true));
        http.tls = Some(pki.server(true));
    });
    let harness = Harness::start(settings, recorder.consumers()).await;

    let answer = https_post(pki.connector(true, b"http/1.1"), harness.http())
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let channel = grpc_channel(pki.connector(true, b"h2"), harness.grpc())
        .await
        .unwrap();
    TraceServiceClient::new(channel)
        .export(fixtures::spec_traces())
        .await
        .expect("gRPC over mTLS");

    for batch in recorder.batches() {
        let auth = &batch.context.auth;
        assert_eq!(auth.client_cn.as_deref(), Some("app"), "{auth:?}");
        assert!(
            auth.client_subject
                .as_deref()
                .is_some_and(|s| s.starts_with("CN=app")),
            "{auth:?}"
        );
        assert!(auth.username.is_none());
    }
    assert_eq!(recorder.batches().len(), 2);
}

#[tokio::test]
async fn mtls_refuses_clients_without_a_certificate() {
    let pki = Pki::new();
    let recorder = Recorder::new();
    let settings = settings(|grpc, http| {
        grpc.tls = Some(pki.server(true));
        http.tls = Some(pki.server(true));
    });
    let harness = Harness::start(settings, recorder.consumers()).await;

    // TLS 1.3 clients learn of the refusal on their first read, so either step may fail.
    let http = https_post(pki.connector(false, b"http/1.1"), harness.http()).await;
    assert!(
        http.is_err(),
        "HTTP without client cert was served: {http:?}"
    );

    let grpc = async {
        let channel = grpc_channel(pki.connector(false, b"h2"), harness.grpc()).await?;
        TraceServiceClient::new(channel)
            .export(fixtures::spec_traces())
            .await?;
        Ok::<_, BoxError>(())
    };
    assert!(grpc.await.is_err(), "gRPC without client cert was served");
    assert!(recorder.batches().is_empty());
}
