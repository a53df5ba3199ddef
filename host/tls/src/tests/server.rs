use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::*;
use crate::{AcceptError, HandshakeFailure, ServerTls};

#[tokio::test]
async fn accepts_client_trusting_its_ca_and_negotiates_h2() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    assert!(!tls.requires_client_cert());
    let (listener, addr) = listen().await;
    echo_server(listener, tls);

    let mut config = (*client(&trusting(&[pki.ca.cert_pem()]))).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let mut stream = connect(addr, Arc::new(config)).await.expect("handshake");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(presented(&stream), pki.server_cert_der());
    assert_eq!(
        round_trip(&mut stream, b"ping").await.expect("echo"),
        b"ping"
    );
}

#[tokio::test]
async fn refused_when_client_trusts_another_ca() {
    let pki = Pki::new("Test CA");
    let other = Pki::new("Other CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);

    let err = connect(addr, client(&trusting(&[other.ca.cert_pem()])))
        .await
        .expect_err("client must refuse an unknown CA");
    let tls_err = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert!(
        matches!(
            tls_err,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err}"
    );
    match server.await.expect("task") {
        Err(AcceptError::Handshake { cause, .. }) => assert!(
            matches!(cause, HandshakeFailure::ClientRejectedServerCert { .. }),
            "{cause}"
        ),
        other => panic!("expected a handshake failure, got {other:?}"),
    }
}

#[tokio::test]
async fn plaintext_http_gets_go_style_400() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);

    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.expect("read answer");
    assert_eq!(
        answer,
        "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
    );
    let err = server
        .await
        .expect("task")
        .expect_err("plaintext must fail");
    assert!(matches!(err, AcceptError::PlaintextHttp { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("use https:// in the client endpoint")
    );
}

/// A TLS 1.1 ClientHello: legacy version 3.2, no supported_versions extension. Real TLS 1.1
/// clients send no signature_algorithms either; `with_sigalgs` adds one to reach rustls' version
/// check.
fn tls11_client_hello(with_sigalgs: bool) -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend([7u8; 32]); // random
    body.push(0); // no session id
    body.extend([0x00, 0x04, 0x00, 0x2f, 0xc0, 0x13]); // two TLS 1.1-era suites
    body.extend([0x01, 0x00]); // null compression
    if with_sigalgs {
        body.extend([0x00, 0x08, 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03]);
    } else {
        body.extend([0x00, 0x00]); // no extensions
    }
    let mut handshake = vec![0x01, 0x00, 0x00, body.len() as u8];
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend(handshake);
    record
}

#[tokio::test]
async fn tls11_client_is_refused_as_too_old() {
    for with_sigalgs in [false, true] {
        tls11_refused(with_sigalgs).await;
    }
}

async fn tls11_refused(with_sigalgs: bool) {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);

    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(&tls11_client_hello(with_sigalgs))
        .await
        .expect("write");
    let mut alert = Vec::new();
    let _ = tcp.read_to_end(&mut alert).await;
    match server.await.expect("task") {
        Err(AcceptError::Handshake { cause, .. }) => {
            assert_eq!(cause, HandshakeFailure::ProtocolVersionTooOld);
            assert!(cause.to_string().starts_with("protocol version too old"));
        }
        other => panic!("expected a handshake failure, got {other:?}"),
    }
    // A fatal alert record (type 21) was sent back.
    assert_eq!(alert.first(), Some(&21), "{alert:?}");
}

#[tokio::test]
async fn connection_closed_without_bytes_is_not_a_handshake_failure() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);
    drop(TcpStream::connect(addr).await.expect("connect"));
    let err = server.await.expect("task").expect_err("no handshake");
    assert!(matches!(err, AcceptError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn silent_client_times_out() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER)
        .expect("load")
        .with_handshake_timeout(Duration::from_millis(200));
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);
    let _idle = TcpStream::connect(addr).await.expect("connect");
    let err = server.await.expect("task").expect_err("timeout");
    assert!(matches!(err, AcceptError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn failures_are_logged_at_warn_with_the_peer_and_the_cause() {
    let (logs, _guard) = Logs::capture();
    let pki = Pki::new("Test CA");
    let other = Pki::new("Other CA");

    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let plain_peer = tcp.local_addr().expect("addr");
    tcp.write_all(b"GET / HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let _ = tcp.read_to_end(&mut Vec::new()).await;
    let _ = server.await;

    let tls = ServerTls::load(&pki.mtls_settings(), OWNER).expect("load");
    let (listener, addr) = listen().await;
    let server = accept_one(listener, tls);
    let stranger = other
        .ca
        .issue_client("stranger", crate::certgen::Validity::days(1));
    let settings = with_identity(&pki.ca, &stranger.expect("cert"));
    if let Ok(mut stream) = connect(addr, client(&settings)).await {
        let _ = stream.read(&mut [0u8; 1]).await;
    }
    let _ = server.await;

    let text = logs.text();
    let plain = text
        .lines()
        .find(|l| l.contains("plaintext HTTP"))
        .unwrap_or_else(|| panic!("no plaintext line in:\n{text}"));
    assert!(plain.contains("WARN"), "{plain}");
    assert!(plain.contains(&plain_peer.to_string()), "{plain}");
    assert!(
        plain
            .contains("plaintext HTTP received on a TLS port; use https:// in the client endpoint"),
        "{plain}"
    );
    let failed = text
        .lines()
        .find(|l| l.contains("TLS handshake failed"))
        .unwrap_or_else(|| panic!("no handshake line in:\n{text}"));
    assert!(
        failed.contains("WARN") && failed.contains("peer=127.0.0.1:"),
        "{failed}"
    );
    assert!(
        failed.contains("client certificate signed by an unknown CA (client_ca_file "),
        "{failed}"
    );
    assert!(failed.contains(OWNER), "{failed}");
}
