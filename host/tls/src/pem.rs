//! Reading PEM material from a file or an inline string, with errors that name both.

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{TlsError, io_reason};

/// PEM bytes and where they came from (`cert_file /x/server.crt` or `cert_pem`), for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Loaded {
    pub what: String,
    pub bytes: Vec<u8>,
}

/// Where one piece of PEM is configured: a file field and its inline alternative.
pub(crate) struct Field<'a> {
    pub file_field: &'static str,
    pub file: Option<&'a Path>,
    pub pem_field: &'static str,
    pub pem: Option<&'a str>,
}

impl Field<'_> {
    /// Read the file or take the inline PEM; `None` when neither is set.
    pub fn read(&self, owner: &str) -> Result<Option<Loaded>, TlsError> {
        match (self.file, self.pem) {
            (Some(_), Some(_)) => Err(TlsError::Conflict {
                owner: owner.to_string(),
                first: self.file_field,
                second: self.pem_field,
            }),
            (Some(path), None) => match std::fs::read(path) {
                Ok(bytes) => Ok(Some(Loaded {
                    what: format!("{} {}", self.file_field, path.display()),
                    bytes,
                })),
                Err(source) => Err(TlsError::Read {
                    owner: owner.to_string(),
                    field: self.file_field,
                    path: path.to_path_buf(),
                    reason: io_reason(&source),
                    source,
                }),
            },
            (None, Some(text)) => Ok(Some(Loaded {
                what: self.pem_field.to_string(),
                bytes: text.as_bytes().to_vec(),
            })),
            (None, None) => Ok(None),
        }
    }
}

fn pem_error(owner: &str, loaded: &Loaded, err: pem::Error) -> TlsError {
    TlsError::Pem {
        owner: owner.to_string(),
        what: loaded.what.clone(),
        detail: err.to_string(),
    }
}

/// Every certificate in the PEM, in order; at least one.
pub(crate) fn certs(
    owner: &str,
    loaded: &Loaded,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(&loaded.bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(owner, loaded, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            owner: owner.to_string(),
            what: loaded.what.clone(),
        });
    }
    Ok(certs)
}

/// The first private key in the PEM (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn key(owner: &str, loaded: &Loaded) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&loaded.bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey {
            owner: owner.to_string(),
            what: loaded.what.clone(),
        },
        other => pem_error(owner, loaded, other),
    })
}

/// A root store holding every certificate in the PEM.
pub(crate) fn roots(owner: &str, loaded: &Loaded) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in certs(owner, loaded)? {
        store.add(cert).map_err(|e| TlsError::BadCa {
            owner: owner.to_string(),
            what: loaded.what.clone(),
            detail: e.to_string(),
        })?;
    }
    Ok(store)
}

/// What to say when rustls refuses a certificate and key pair (`with_single_cert`,
/// `with_client_auth_cert`): the key does not match, the certificate cannot be parsed (X.509 v1
/// included), or the key is unusable.
pub(crate) fn cert_key_error(
    owner: &str,
    cert: &Loaded,
    key: &Loaded,
    err: rustls::Error,
) -> TlsError {
    match err {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            TlsError::KeyMismatch {
                owner: owner.to_string(),
                key: key.what.clone(),
                cert: cert.what.clone(),
            }
        }
        rustls::Error::InvalidCertificate(why) => {
            let v1 = matches!(&why, rustls::CertificateError::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::UnsupportedCertVersion)
            ));
            let detail = if v1 {
                V1_ADVICE.to_string()
            } else {
                format!("cannot parse it: {why}")
            };
            TlsError::BadCertificate {
                owner: owner.to_string(),
                what: cert.what.clone(),
                detail,
            }
        }
        source => TlsError::BadKey {
            owner: owner.to_string(),
            what: key.what.clone(),
            source,
        },
    }
}

/// Why and how to replace an X.509 v1 certificate.
pub(crate) const V1_ADVICE: &str = "the certificate is X.509 v1 (made without extensions), which \
    rustls and Go refuse; re-issue it with extensions, e.g. `sluice certs` or openssl with \
    `-extfile` containing `basicConstraints=CA:FALSE`";

/// Problems with our own leaf certificate that peers will refuse; logged, never fatal.
pub(crate) fn leaf_problem(der: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let validity = cert.validity();
    if !validity.is_valid() {
        return Some(format!(
            "the certificate is not valid now (valid from {} to {}); clients will refuse it",
            validity.not_before, validity.not_after
        ));
    }
    None
}
