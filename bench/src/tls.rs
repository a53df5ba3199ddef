//! rustls client configuration from PEM files.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A client config trusting only `ca`, presenting `identity` (certificate chain, key) if given,
/// and offering `alpn` (`h2` for gRPC, `http/1.1` for OTLP/HTTP).
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    alpn: &[u8],
) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca)? {
        roots
            .add(cert)
            .with_context(|| format!("--tls-ca {}: unusable CA certificate", ca.display()))?;
    }
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| anyhow!("--client-key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .context("client certificate and key do not match or are unsupported")?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("{}: no PEM certificate found", path.display()));
    }
    Ok(certs)
}
