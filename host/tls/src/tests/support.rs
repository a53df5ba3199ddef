//! Test helpers: generated PKIs in temp dirs, servers on 127.0.0.1:0, clients.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rcgen::SigningKey;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sluice_config::{TlsClientSettings, TlsServerSettings};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsConnector, client, server};

use crate::certgen::{Ca, Issued, Validity};
use crate::{AcceptError, ServerTls};

pub const OWNER: &str = "receivers.otlp.protocols.grpc.tls";

pub fn init() {
    crate::install_crypto_provider();
}

pub fn hosts() -> Vec<String> {
    vec!["localhost".to_string(), "127.0.0.1".to_string()]
}

/// A CA, a server certificate for localhost, and a temp dir to write files into.
pub struct Pki {
    pub dir: TempDir,
    pub ca: Ca,
    pub server: Issued,
}

impl Pki {
    pub fn new(ca_name: &str) -> Pki {
        init();
        let ca = Ca::new(ca_name, Validity::days(2)).expect("CA");
        let server = ca
            .issue_server(&hosts(), Validity::days(2))
            .expect("server cert");
        Pki {
            dir: tempfile::tempdir().expect("temp dir"),
            ca,
            server,
        }
    }

    /// Write (or replace) a file in the temp dir.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// Replace a file the way cert tools do: write a temporary file, then rename it.
    pub fn replace(&self, name: &str, contents: &str) {
        let tmp = self.dir.path().join(format!("{name}.new"));
        std::fs::write(&tmp, contents).expect("write tmp");
        std::fs::rename(&tmp, self.dir.path().join(name)).expect("rename");
    }

    /// Server settings with server.crt/server.key written to files.
    pub fn server_settings(&self) -> TlsServerSettings {
        TlsServerSettings {
            cert_file: Some(self.write("server.crt", &self.server.cert_pem)),
            key_file: Some(self.write("server.key", &self.server.key_pem)),
            ..Default::default()
        }
    }

    /// Server settings requiring client certificates signed by this CA.
    pub fn mtls_settings(&self) -> TlsServerSettings {
        TlsServerSettings {
            client_ca_file: Some(self.write("ca.crt", &self.ca.cert_pem())),
            ..self.server_settings()
        }
    }

    pub fn server_cert_der(&self) -> CertificateDer<'static> {
        der_of(&self.server.cert_pem)
    }
}

pub fn der_of(cert_pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("cert PEM")
}

/// Client settings trusting the given CA certificates.
pub fn trusting(ca_pems: &[String]) -> TlsClientSettings {
    TlsClientSettings {
        ca_pem: Some(ca_pems.concat()),
        ..Default::default()
    }
}

/// Client settings trusting `ca` and presenting `identity`.
pub fn with_identity(ca: &Ca, identity: &Issued) -> TlsClientSettings {
    TlsClientSettings {
        cert_pem: Some(identity.cert_pem.clone()),
        key_pem: Some(identity.key_pem.clone()),
        ..trusting(&[ca.cert_pem()])
    }
}

/// A client config presenting `identity` without rustls' load-time certificate checks, to test
/// what the server does with certificates rustls would not even load (X.509 v1).
pub fn client_presenting_unchecked(ca: &Ca, identity: &Issued) -> Arc<ClientConfig> {
    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);
    impl ResolvesClientCert for Fixed {
        fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
        fn has_certs(&self) -> bool {
            true
        }
    }
    let provider = crate::provider();
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("key");
    let key = provider
        .key_provider
        .load_private_key(key)
        .expect("signing key");
    let certified = CertifiedKey::new(vec![der_of(&identity.cert_pem)], key);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der_of(&ca.cert_pem())).expect("root");
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
    Arc::new(config)
}

pub fn client(settings: &TlsClientSettings) -> Arc<ClientConfig> {
    crate::client_config(settings, "exporters.otlp.tls").expect("client config")
}

pub async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

pub type Accepted = Result<server::TlsStream<TcpStream>, AcceptError>;

/// Accept one connection with `tls` in a task.
pub fn accept_one(listener: TcpListener, tls: ServerTls) -> JoinHandle<Accepted> {
    tokio::spawn(async move {
        let (tcp, peer) = listener.accept().await.expect("accept");
        tls.accept(tcp, peer).await
    })
}

/// Accept connections forever, echoing bytes on each good one.
pub fn echo_server(listener: TcpListener, tls: ServerTls) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                if let Ok(stream) = tls.accept(tcp, peer).await {
                    echo(stream).await;
                }
            });
        }
    })
}

async fn echo(mut stream: server::TlsStream<TcpStream>) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 || stream.write_all(&buf[..n]).await.is_err() || stream.flush().await.is_err() {
            break;
        }
    }
}

pub async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> io::Result<client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    TlsConnector::from(config).connect(name, tcp).await
}

/// Write `msg` and read the same number of bytes back.
pub async fn round_trip(
    stream: &mut client::TlsStream<TcpStream>,
    msg: &[u8],
) -> io::Result<Vec<u8>> {
    stream.write_all(msg).await?;
    stream.flush().await?;
    let mut back = vec![0u8; msg.len()];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut back))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no echo"))??;
    Ok(back)
}

/// The certificate the server presented on a client connection.
pub fn presented(stream: &client::TlsStream<TcpStream>) -> CertificateDer<'static> {
    let certs = stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("server certs");
    certs[0].clone().into_owned()
}

/// Log lines captured from this thread (tests run on a current-thread runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Capture every event on this thread until the guard is dropped.
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Poll `cond` every 20 ms for up to 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client certificate like `openssl x509 -req` without `-extfile` makes: X.509 v1, no
/// extensions. Built by removing the version and extensions from a v3 certificate and signing
/// the result again with the CA key.
pub fn issue_client_v1(ca: &Ca, common_name: &str) -> Issued {
    let v3 = ca
        .issue_client(common_name, Validity::days(2))
        .expect("client cert");
    let der = der_of(&v3.cert_pem);
    let cert = children(der.as_ref());
    let (tbs, alg) = (cert[0], cert[1]);
    let kept: Vec<u8> = children(tbs)
        .into_iter()
        .filter(|field| field[0] != 0xa0 && field[0] != 0xa3)
        .flatten()
        .copied()
        .collect();
    let tbs = tlv(0x30, &kept);
    let signature = ca.issuer.key().sign(&tbs).expect("sign");
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    let body = [tbs, alg.to_vec(), tlv(0x03, &bits)].concat();
    let der = tlv(0x30, &body);
    Issued {
        cert_pem: cert_pem(&der),
        key_pem: v3.key_pem,
    }
}

/// The DER elements inside a constructed element (whole TLVs).
fn children(element: &[u8]) -> Vec<&[u8]> {
    let (start, len) = header(element);
    let mut rest = &element[start..start + len];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (h, l) = header(rest);
        out.push(&rest[..h + l]);
        rest = &rest[h + l..];
    }
    out
}

fn header(element: &[u8]) -> (usize, usize) {
    let first = element[1] as usize;
    if first < 0x80 {
        return (2, first);
    }
    let n = first & 0x7f;
    let len = element[2..2 + n]
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | *b as usize);
    (2 + n, len)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn cert_pem(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}
