use std::sync::Arc;
use std::time::Duration;

use super::support::*;
use crate::ServerTls;
use crate::certgen::{Ca, Validity};

#[tokio::test]
async fn reload_serves_new_cert_to_new_handshakes_and_keeps_open_connections() {
    let pki = Pki::new("First CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    tls.start_reloading();
    let (listener, addr) = listen().await;
    echo_server(listener, tls.clone());

    let second_ca = Ca::new("Second CA", Validity::days(1)).expect("CA");
    let second = second_ca
        .issue_server(&hosts(), Validity::days(1))
        .expect("cert");
    let trusts_both = client(&trusting(&[pki.ca.cert_pem(), second_ca.cert_pem()]));

    let mut before = connect(addr, trusts_both.clone())
        .await
        .expect("first handshake");
    assert_eq!(presented(&before), pki.server_cert_der());
    assert_eq!(round_trip(&mut before, b"one").await.expect("echo"), b"one");

    pki.replace("server.key", &second.key_pem);
    pki.replace("server.crt", &second.cert_pem);
    eventually("a reload", || tls.reloads() >= 1).await;

    let after = connect(addr, trusts_both)
        .await
        .expect("handshake after reload");
    assert_eq!(presented(&after), der_of(&second.cert_pem));
    // The connection opened before the swap still works.
    assert_eq!(round_trip(&mut before, b"two").await.expect("echo"), b"two");
}

#[tokio::test]
async fn broken_new_key_keeps_the_old_config() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    tls.start_reloading();
    let (listener, addr) = listen().await;
    echo_server(listener, tls.clone());

    pki.replace(
        "server.key",
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    );
    eventually("a failed reload", || tls.reload_failures() >= 1).await;
    assert_eq!(tls.reloads(), 0);

    let mut stream = connect(addr, client(&trusting(&[pki.ca.cert_pem()])))
        .await
        .expect("handshake with the old config");
    assert_eq!(presented(&stream), pki.server_cert_der());
    assert_eq!(
        round_trip(&mut stream, b"still").await.expect("echo"),
        b"still"
    );
}

#[tokio::test]
async fn interval_reload_picks_up_new_files() {
    let pki = Pki::new("Test CA");
    let mut settings = pki.server_settings();
    settings.reload_interval = Some(Duration::from_millis(100));
    let tls = ServerTls::load(&settings, OWNER).expect("load");
    tls.start_reloading();
    tls.start_reloading(); // idempotent
    let next = pki
        .ca
        .issue_server(&hosts(), Validity::days(1))
        .expect("cert");
    pki.replace("server.key", &next.key_pem);
    pki.replace("server.crt", &next.cert_pem);
    eventually("a reload", || tls.reloads() >= 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        tls.reloads(),
        1,
        "unchanged files must not count as reloads"
    );
}

#[tokio::test]
async fn reloading_holds_no_strong_reference() {
    let pki = Pki::new("Test CA");
    let tls = ServerTls::load(&pki.server_settings(), OWNER).expect("load");
    tls.start_reloading();
    let weak = Arc::downgrade(&tls.inner);
    drop(tls);
    assert!(
        weak.upgrade().is_none(),
        "the reload task must not keep the config alive"
    );
}
