//! Client-side rustls configuration for exporters and tests.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sluice_config::TlsClientSettings;

use crate::error::TlsError;
use crate::pem::{self, Field};
use crate::versions::protocol_versions;

/// Client-side rustls config: `ca_file`/`ca_pem` (else the system roots, else Mozilla's bundle),
/// client cert/key for mTLS, `insecure_skip_verify`, min/max version. ALPN is left to the
/// caller. `insecure` (plaintext) is the caller's decision: this always builds a TLS config.
pub fn client_config(
    settings: &TlsClientSettings,
    owner: &str,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = crate::provider();
    let versions = protocol_versions(owner, settings.min_version, settings.max_version)?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|source| TlsError::Rustls {
            owner: owner.to_string(),
            source,
        })?;
    let builder = if settings.insecure_skip_verify {
        tracing::warn!(
            owner,
            "insecure_skip_verify is set: the server certificate is not verified, so anyone on \
             the network path can impersonate the server; use ca_file instead"
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert { provider }))
    } else {
        builder.with_root_certificates(roots(settings, owner)?)
    };
    let cert = Field {
        file_field: "cert_file",
        file: settings.cert_file.as_deref(),
        pem_field: "cert_pem",
        pem: settings.cert_pem.as_deref(),
    }
    .read(owner)?;
    let key = Field {
        file_field: "key_file",
        file: settings.key_file.as_deref(),
        pem_field: "key_pem",
        pem: settings.key_pem.as_deref(),
    }
    .read(owner)?;
    let unpaired = |missing| TlsError::Unpaired {
        owner: owner.to_string(),
        missing,
    };
    let config = match (cert, key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => return Err(unpaired("key_file")),
        (None, Some(_)) => return Err(unpaired("cert_file")),
        (Some(cert), Some(key)) => {
            let chain = pem::certs(owner, &cert)?;
            let key_der = pem::key(owner, &key)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| pem::cert_key_error(owner, &cert, &key, e))?
        }
    };
    Ok(Arc::new(config))
}

/// Roots to verify the server: the configured CA (plus the system store when
/// `include_system_ca_certs_pool: true`), else the system store, else Mozilla's bundle.
fn roots(settings: &TlsClientSettings, owner: &str) -> Result<RootCertStore, TlsError> {
    let ca = Field {
        file_field: "ca_file",
        file: settings.ca_file.as_deref(),
        pem_field: "ca_pem",
        pem: settings.ca_pem.as_deref(),
    }
    .read(owner)?;
    let Some(ca) = ca else {
        let mut store = system_roots(owner);
        if store.is_empty() {
            tracing::debug!(
                owner,
                "no system CA certificates found; using the Mozilla bundle"
            );
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        return Ok(store);
    };
    let mut store = pem::roots(owner, &ca)?;
    if settings.include_system_ca_certs_pool == Some(true) {
        store.roots.extend(system_roots(owner).roots);
    }
    Ok(store)
}

fn system_roots(owner: &str) -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(owner, %error, "skipping unreadable system CA certificates");
    }
    let mut store = RootCertStore::empty();
    let (_added, _ignored) = store.add_parsable_certificates(found.certs);
    store
}

/// The name to verify the server certificate against: `server_name_override` when set, else
/// the endpoint's host (a DNS name or an IP address; IPv6 may be in brackets).
///
/// Returns an error instead of panicking on a name rustls cannot use (e.g. empty).
pub fn server_name(
    settings: &TlsClientSettings,
    endpoint_host: &str,
) -> Result<ServerName<'static>, TlsError> {
    let (name, from) = match settings.server_name_override.as_deref() {
        Some(name) if !name.is_empty() => (name, "server_name_override"),
        _ => (endpoint_host, "the endpoint host"),
    };
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_string()).map_err(|_| TlsError::InvalidServerName {
        name: name.to_string(),
        from,
    })
}

/// DANGEROUS: accepts any server certificate (expired, self-signed, for another name). Only the
/// handshake signatures are checked, which proves nothing about who the server is. Used for
/// `insecure_skip_verify`.
#[derive(Debug)]
struct AcceptAnyServerCert {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_prefers_the_override() {
        let mut settings = TlsClientSettings::default();
        let name = server_name(&settings, "collector.example").expect("dns");
        assert_eq!(name.to_str(), "collector.example");
        let name = server_name(&settings, "[::1]").expect("ipv6");
        assert!(matches!(name, ServerName::IpAddress(_)));
        settings.server_name_override = Some("otel.internal".into());
        let name = server_name(&settings, "10.0.0.1").expect("override");
        assert_eq!(name.to_str(), "otel.internal");
    }

    #[test]
    fn server_name_refuses_garbage_without_panicking() {
        let err = server_name(&TlsClientSettings::default(), "bad host!").unwrap_err();
        assert!(err.to_string().contains("invalid TLS server name"), "{err}");
    }
}
