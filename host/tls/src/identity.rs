//! The identity in a verified client certificate.

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Identity from a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertInfo {
    /// The subject in RFC 4514 form, most specific first: `CN=app,O=Org`.
    pub subject: String,
    /// The first common name of the subject, if any.
    pub common_name: Option<String>,
    /// Subject alternative names: DNS names, URIs and e-mail addresses, as written.
    pub sans: Vec<String>,
}

/// The identity in the client certificate of a finished handshake; `None` when the client sent
/// no certificate (or it cannot be parsed, which a verified certificate always can).
pub fn client_cert_info(conn: &rustls::ServerConnection) -> Option<ClientCertInfo> {
    conn.peer_certificates()?.first().and_then(cert_info)
}

/// The identity in one DER certificate (e.g. from tonic's `Request::peer_certs`).
pub fn cert_info(der: &CertificateDer<'_>) -> Option<ClientCertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let subject = cert.subject();
    let common_name = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::URI(s) | GeneralName::RFC822Name(s) => {
                    sans.push((*s).to_string())
                }
                _ => {}
            }
        }
    }
    Some(ClientCertInfo {
        subject: rfc4514(subject),
        common_name,
        sans,
    })
}

/// RFC 4514: RDNs in reverse order of the encoding, joined by ',', multi-valued RDNs by '+'.
fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn attribute(attr: &AttributeTypeAndValue<'_>) -> String {
    let oid = attr.attr_type();
    let key = oid2abbrev(oid, oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string());
    match attr.as_str() {
        Ok(value) => format!("{key}={}", escape(value)),
        Err(_) => {
            let hex: String = attr.as_slice().iter().map(|b| format!("{b:02x}")).collect();
            format!("{key}=#{hex}")
        }
    }
}

/// Escape an attribute value per RFC 4514 section 2.4.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_special_characters() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" lead"), "\\ lead");
        assert_eq!(escape("trail "), "trail\\ ");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape("plain"), "plain");
    }
}
