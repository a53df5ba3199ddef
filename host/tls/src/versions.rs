//! `min_version`/`max_version` to rustls protocol versions.

use rustls::SupportedProtocolVersion;
use sluice_config::TlsVersion;

use crate::error::TlsError;

/// The rustls versions between `min` (default 1.2) and `max` (default 1.3). 1.0 and 1.1 are
/// refused with an error: rustls does not implement them.
pub(crate) fn protocol_versions(
    owner: &str,
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let min = min.unwrap_or(TlsVersion::V1_2);
    let max = max.unwrap_or(TlsVersion::V1_3);
    for (field, version) in [("min_version", min), ("max_version", max)] {
        if version < TlsVersion::V1_2 {
            return Err(TlsError::UnsupportedVersion {
                owner: owner.to_string(),
                field,
                version,
            });
        }
    }
    if min > max {
        return Err(TlsError::VersionRange {
            owner: owner.to_string(),
            min,
            max,
        });
    }
    let mut versions = Vec::with_capacity(2);
    if min <= TlsVersion::V1_2 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::V1_3 {
        versions.push(&rustls::version::TLS13);
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_tls12_and_tls13() {
        let versions = protocol_versions("x.tls", None, None).expect("defaults");
        assert_eq!(versions.len(), 2);
    }

    #[test]
    fn tls13_only() {
        let versions = protocol_versions("x.tls", Some(TlsVersion::V1_3), None).expect("1.3");
        assert_eq!(versions, vec![&rustls::version::TLS13]);
    }

    #[test]
    fn refuses_tls11_with_a_clear_error() {
        let err = protocol_versions("x.tls", Some(TlsVersion::V1_1), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.tls.min_version: TLS 1.1 is not supported (rustls implements TLS 1.2 and 1.3); \
             use \"1.2\" or \"1.3\""
        );
        let err = protocol_versions("x.tls", None, Some(TlsVersion::V1_0)).unwrap_err();
        assert!(
            err.to_string().starts_with("x.tls.max_version: TLS 1.0"),
            "{err}"
        );
    }

    #[test]
    fn refuses_min_above_max() {
        let err =
            protocol_versions("x.tls", Some(TlsVersion::V1_3), Some(TlsVersion::V1_2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.tls: min_version 1.3 is above max_version 1.2"
        );
    }
}
