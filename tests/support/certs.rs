//! Certificates generated at test time with `sluice_tls::certgen`: a CA, a server certificate for
//! `localhost` and `127.0.0.1`, a good client certificate, one from another CA and an expired one,
//! all written as PEM files into a temporary directory, and rustls client configs built from them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use sluice_tls::certgen::{Ca, Issued, Validity};
use tempfile::TempDir;

/// Names the server certificate is valid for; clients connect to `127.0.0.1`.
pub const SERVER_HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];
/// Common name of the good client certificate.
pub const CLIENT_CN: &str = "e2e-client";

/// Which client certificate a client presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// No client certificate.
    None,
    /// Issued by the CA the server trusts.
    Good,
    /// Issued by another CA.
    OtherCa,
    /// Issued by the right CA, expired yesterday.
    Expired,
}

/// The certificate files of one test.
pub struct Certs {
    dir: TempDir,
    ca: Ca,
    other_ca: Ca,
}

impl Certs {
    pub fn new() -> Result<Certs> {
        sluice_tls::install_crypto_provider();
        let dir = tempfile::tempdir()?;
        let ca = Ca::new("e2e CA", Validity::days(2))?;
        let other_ca = Ca::new("e2e other CA", Validity::days(2))?;
        let certs = Certs { dir, ca, other_ca };
        let server = certs.issue_server()?;
        certs.write("server", &server)?;
        certs.write(
            "client",
            &certs.ca.issue_client(CLIENT_CN, Validity::days(2))?,
        )?;
        let other = certs.other_ca.issue_client(CLIENT_CN, Validity::days(2))?;
        certs.write("other-client", &other)?;
        certs.write(
            "expired-client",
            &certs.ca.issue_client(CLIENT_CN, Validity::expired())?,
        )?;
        std::fs::write(certs.ca_file(), certs.ca.cert_pem())?;
        std::fs::write(certs.path("other-ca.crt"), certs.other_ca.cert_pem())?;
        Ok(certs)
    }

    /// A new server certificate from the same CA (for rotation).
    pub fn issue_server(&self) -> Result<Issued> {
        let hosts: Vec<String> = SERVER_HOSTS.iter().map(|h| h.to_string()).collect();
        Ok(self.ca.issue_server(&hosts, Validity::days(2))?)
    }

    /// Replace the server certificate and key files the way deployment tools do: write each
    /// under a temporary name and rename it over the old one (key first, then certificate).
    pub fn replace_server(&self, issued: &Issued) -> Result<()> {
        for (name, pem) in [
            ("server.key", &issued.key_pem),
            ("server.crt", &issued.cert_pem),
        ] {
            let tmp = self.path(&format!(".{name}.new"));
            std::fs::write(&tmp, pem)?;
            std::fs::rename(&tmp, self.path(name))?;
        }
        Ok(())
    }

    fn write(&self, stem: &str, issued: &Issued) -> Result<()> {
        std::fs::write(self.path(&format!("{stem}.crt")), &issued.cert_pem)?;
        std::fs::write(self.path(&format!("{stem}.key")), &issued.key_pem)?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA certificate file (what clients trust and the server's `client_ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.crt")
    }

    /// `(certificate, key)` files of a client identity.
    pub fn client_files(&self, identity: Identity) -> Option<(PathBuf, PathBuf)> {
        let stem = match identity {
            Identity::None => return None,
            Identity::Good => "client",
            Identity::OtherCa => "other-client",
            Identity::Expired => "expired-client",
        };
        Some((
            self.path(&format!("{stem}.crt")),
            self.path(&format!("{stem}.key")),
        ))
    }

    /// The server certificate currently in `server.crt`, DER.
    pub fn server_cert_der(&self) -> Result<CertificateDer<'static>> {
        first_cert(&std::fs::read(self.path("server.crt"))?)
    }

    /// A receiver `tls:` block: server certificate, no client certificates.
    pub fn server_tls(&self) -> Value {
        json!({
            "cert_file": self.path("server.crt"),
            "key_file": self.path("server.key"),
        })
    }

    /// A receiver `tls:` block that requires client certificates from the CA (mTLS).
    pub fn mtls(&self) -> Value {
        let mut tls = self.server_tls();
        tls["client_ca_file"] = json!(self.ca_file());
        tls
    }

    /// A client trusting the right CA and presenting `identity`, offering `alpn` protocols.
    pub fn client(&self, identity: Identity, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>> {
        client_config(&self.ca.cert_pem(), self.client_files(identity), alpn)
    }

    /// A client trusting another CA than the one that issued the server certificate.
    pub fn client_trusting_other_ca(&self, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>> {
        client_config(&self.other_ca.cert_pem(), None, alpn)
    }
}

/// A rustls client trusting the CA certificates in `ca_pem`, presenting the certificate and key in
/// `identity` (files) if given.
pub fn client_config(
    ca_pem: &str,
    identity: Option<(PathBuf, PathBuf)>,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert?)?;
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(&cert)
                .with_context(|| format!("reading {}", cert.display()))?
                .collect::<Result<Vec<_>, _>>()?;
            let key = PrivateKeyDer::from_pem_file(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            builder.with_client_auth_cert(chain, key)?
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn first_cert(pem: &[u8]) -> Result<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .next()
        .context("no certificate in PEM")?
        .context("bad PEM")
}
