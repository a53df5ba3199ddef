//! Development certificates: a CA that issues server and client certificates (ECDSA P-256,
//! X.509 v3 with basicConstraints and extendedKeyUsage), and `sluice certs`' file set.
//!
//! These are for development and tests; production certificates come from a real PKI.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

pub use crate::error::CertError;
use crate::error::io_reason;

/// Organisation written into every generated subject.
const ORGANIZATION: &str = "Sluice";

/// When a certificate is valid. Resolved against the clock when the certificate is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Days(u32),
    Expired,
    Between(SystemTime, SystemTime),
}

impl Validity {
    /// Valid from one hour ago (tolerates clock skew) for `n` days.
    pub fn days(n: u32) -> Validity {
        Validity {
            kind: Kind::Days(n),
        }
    }

    /// Valid for 30 days that ended yesterday: for testing refusals.
    pub fn expired() -> Validity {
        Validity {
            kind: Kind::Expired,
        }
    }

    /// Valid between two instants.
    pub fn between(not_before: SystemTime, not_after: SystemTime) -> Validity {
        Validity {
            kind: Kind::Between(not_before, not_after),
        }
    }

    fn resolve(self) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
        let now = OffsetDateTime::now_utc();
        let out_of_range = |detail: String| CertError::Validity { detail };
        let shift = |days: i64, hours: i64| {
            now.checked_add(time::Duration::days(days) + time::Duration::hours(hours))
        };
        match self.kind {
            Kind::Days(n) => {
                let start = shift(0, -1).ok_or_else(|| out_of_range("now - 1h".into()))?;
                let end = shift(i64::from(n), 0)
                    .filter(|end| end.year() <= 9999)
                    .ok_or_else(|| out_of_range(format!("{n} days from now is past year 9999")))?;
                Ok((start, end))
            }
            Kind::Expired => match (shift(-30, 0), shift(-1, 0)) {
                (Some(start), Some(end)) => Ok((start, end)),
                _ => Err(out_of_range("30 days ago".into())),
            },
            Kind::Between(start, end) => {
                let (start, end) = (offset(start)?, offset(end)?);
                if start > end {
                    return Err(out_of_range("not_before is after not_after".into()));
                }
                Ok((start, end))
            }
        }
    }
}

fn offset(t: SystemTime) -> Result<OffsetDateTime, CertError> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => i64::try_from(before.duration().as_secs()).ok().map(|s| -s),
    };
    secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .filter(|t| (1950..=9999).contains(&t.year()))
        .ok_or_else(|| CertError::Validity {
            detail: format!("{t:?} is outside the years 1950-9999"),
        })
}

/// A certificate and its private key, both PEM (the key is PKCS#8).
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A self-signed certificate authority.
pub struct Ca {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

fn generate(what: &'static str) -> impl FnOnce(rcgen::Error) -> CertError {
    move |source| CertError::Generate { what, source }
}

fn subject(common_name: &str) -> DistinguishedName {
    // RFC 4514 lists the last RDN first, so this reads "CN=<name>,O=Sluice".
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, common_name);
    dn
}

fn leaf_params(common_name: &str, validity: Validity) -> Result<CertificateParams, CertError> {
    let (not_before, not_after) = validity.resolve()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(common_name);
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

impl Ca {
    /// A new CA with a fresh ECDSA P-256 key.
    pub fn new(common_name: &str, validity: Validity) -> Result<Ca, CertError> {
        let (not_before, not_after) = validity.resolve()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(common_name);
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(generate("CA key"))?;
        let cert = params
            .self_signed(&key)
            .map_err(generate("CA certificate"))?;
        let key_pem = key.serialize_pem();
        Ok(Ca {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
            key_pem,
        })
    }

    /// The CA certificate, PEM: what clients put in `ca_file` and servers in `client_ca_file`.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA private key, PEM (PKCS#8). Keep it secret.
    pub fn key_pem(&self) -> String {
        self.key_pem.clone()
    }

    /// A server certificate for `hosts` (DNS names or IP addresses, each a SAN; the first is the
    /// CN), with extendedKeyUsage serverAuth.
    pub fn issue_server(&self, hosts: &[String], validity: Validity) -> Result<Issued, CertError> {
        let hosts: Vec<&str> = hosts.iter().map(|h| h.trim()).collect();
        let Some(first) = hosts.first() else {
            return Err(CertError::NoHosts);
        };
        let mut params = leaf_params(first, validity)?;
        params.subject_alt_names = hosts
            .iter()
            .map(|host| san(host))
            .collect::<Result<_, _>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params, "server key", "server certificate")
    }

    /// A client certificate with CN `common_name` and extendedKeyUsage clientAuth (for mTLS).
    pub fn issue_client(&self, common_name: &str, validity: Validity) -> Result<Issued, CertError> {
        let mut params = leaf_params(common_name, validity)?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params, "client key", "client certificate")
    }

    fn sign(
        &self,
        params: CertificateParams,
        key_what: &'static str,
        cert_what: &'static str,
    ) -> Result<Issued, CertError> {
        let key = KeyPair::generate().map_err(generate(key_what))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(generate(cert_what))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn san(host: &str) -> Result<SanType, CertError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let invalid = |reason: String| CertError::InvalidHost {
        host: host.to_string(),
        reason,
    };
    rustls_pki_types::DnsName::try_from(host).map_err(|e| invalid(e.to_string()))?;
    let name = Ia5String::try_from(host).map_err(|e| invalid(e.to_string()))?;
    Ok(SanType::DnsName(name))
}

/// Writes ca.crt, ca.key, server.crt, server.key, client.crt, client.key into `out` (creating
/// it); key files get mode 0600. Each file is written to a temporary name and renamed, so a
/// server watching them never reads half a file. Returns the paths written, in that order.
pub fn write_dev_set(
    out: &Path,
    hosts: &[String],
    days: u32,
    client_cn: &str,
) -> Result<Vec<PathBuf>, CertError> {
    let validity = Validity::days(days);
    let ca = Ca::new("Sluice dev CA", validity)?;
    let server = ca.issue_server(hosts, validity)?;
    let client = ca.issue_client(client_cn, validity)?;
    std::fs::create_dir_all(out).map_err(|source| CertError::CreateDir {
        path: out.to_path_buf(),
        reason: io_reason(&source),
        source,
    })?;
    let files = [
        ("ca.crt", ca.cert_pem(), false),
        ("ca.key", ca.key_pem(), true),
        ("server.crt", server.cert_pem, false),
        ("server.key", server.key_pem, true),
        ("client.crt", client.cert_pem, false),
        ("client.key", client.key_pem, true),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, contents, secret) in files {
        let path = out.join(name);
        write_file(
            &path,
            &out.join(format!(".{name}.tmp")),
            contents.as_bytes(),
            secret,
        )?;
        written.push(path);
    }
    Ok(written)
}

fn write_file(path: &Path, tmp: &Path, contents: &[u8], secret: bool) -> Result<(), CertError> {
    use std::io::Write;
    let failed = |source: std::io::Error| CertError::Write {
        path: path.to_path_buf(),
        reason: io_reason(&source),
        source,
    };
    // A stale temporary file could carry wider permissions: start afresh.
    let _ = std::fs::remove_file(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(tmp).map_err(failed)?;
    file.write_all(contents).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    std::fs::rename(tmp, path).map_err(failed)
}
