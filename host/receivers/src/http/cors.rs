//! CORS for browser clients, as the Collector's `cors:` block does it (rs/cors with
//! credentials allowed): preflight requests are answered before authentication, and responses
//! to allowed origins echo the origin.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header, request};
use sluice_config::CorsSettings;

/// Headers a browser may always send (rs/cors defaults).
const DEFAULT_ALLOWED_HEADERS: [&str; 4] = ["origin", "accept", "content-type", "x-requested-with"];

pub(crate) struct Cors {
    origins: Vec<Origin>,
    /// Lower-case; `*` allows any.
    allowed_headers: Vec<String>,
    max_age: Option<u64>,
}

enum Origin {
    Any,
    Exact(String),
    /// `https://*.example.com`: one `*` standing for any text.
    Wildcard {
        prefix: String,
        suffix: String,
    },
}

impl Origin {
    fn parse(pattern: &str) -> Origin {
        let pattern = pattern.to_ascii_lowercase();
        if pattern == "*" {
            return Origin::Any;
        }
        match pattern.split_once('*') {
            Some((prefix, suffix)) => Origin::Wildcard {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
            },
            None => Origin::Exact(pattern),
        }
    }

    fn matches(&self, origin: &str) -> bool {
        match self {
            Origin::Any => true,
            Origin::Exact(exact) => *exact == origin,
            Origin::Wildcard { prefix, suffix } => {
                origin.len() >= prefix.len() + suffix.len()
                    && origin.starts_with(prefix.as_str())
                    && origin.ends_with(suffix.as_str())
            }
        }
    }
}

impl Cors {
    /// `None` when CORS is off (no `cors:` block or no allowed origins).
    pub fn new(settings: Option<&CorsSettings>) -> Option<Cors> {
        let settings = settings?;
        if settings.allowed_origins.is_empty() {
            return None;
        }
        let mut allowed_headers: Vec<String> = DEFAULT_ALLOWED_HEADERS
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        allowed_headers.extend(
            settings
                .allowed_headers
                .iter()
                .map(|h| h.to_ascii_lowercase()),
        );
        Some(Cors {
            origins: settings
                .allowed_origins
                .iter()
                .map(|o| Origin::parse(o))
                .collect(),
            allowed_headers,
            max_age: settings.max_age,
        })
    }

    /// The request's `Origin` if it is allowed.
    fn allowed_origin<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let value = headers.get(header::ORIGIN)?;
        let origin = value.to_str().ok()?.to_ascii_lowercase();
        self.origins
            .iter()
            .any(|o| o.matches(&origin))
            .then_some(value)
    }

    fn headers_allowed(&self, requested: &str) -> bool {
        if self.allowed_headers.iter().any(|h| h == "*") {
            return true;
        }
        requested
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .all(|h| self.allowed_headers.contains(&h))
    }

    /// The answer to a preflight request, or `None` if `parts` is not one.
    pub fn preflight(&self, parts: &request::Parts) -> Option<Response> {
        let headers = &parts.headers;
        if parts.method != Method::OPTIONS
            || !headers.contains_key(header::ORIGIN)
            || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let Some(origin) = self.allowed_origin(headers) else {
            return Some(response);
        };
        let method_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m.as_bytes().eq_ignore_ascii_case(b"POST"));
        let requested_headers = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|h| h.to_str().ok());
        if !method_ok || !requested_headers.is_none_or(|h| self.headers_allowed(h)) {
            return Some(response);
        }
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        if let Some(max_age) = self.max_age {
            out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
        Some(response)
    }

    /// Add the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, request: &HeaderMap, response: &mut Response) {
        let out = response.headers_mut();
        out.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(request) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors::new(Some(&CorsSettings {
            allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allowed_headers: vec!["X-Tenant".into()],
            max_age: Some(600),
        }))
        .unwrap()
    }

    fn preflight(origin: &str, headers: &str) -> request::Parts {
        let (parts, ()) = http::Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/traces")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn preflight_from_allowed_wildcard_origin_is_granted() {
        let cors = cors(&["https://*.example.com"]);
        let response = cors
            .preflight(&preflight(
                "https://app.example.com",
                "content-type, x-tenant",
            ))
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
    }

    #[test]
    fn preflight_from_other_origin_or_with_unknown_header_gets_no_grant() {
        let cors = cors(&["https://app.example.com"]);
        let other = cors
            .preflight(&preflight("https://evil.test", "content-type"))
            .unwrap();
        assert!(
            !other
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        let header = cors
            .preflight(&preflight("https://app.example.com", "x-secret"))
            .unwrap();
        assert!(
            !header
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
    }

    #[test]
    fn no_allowed_origins_means_cors_is_off() {
        assert!(Cors::new(Some(&CorsSettings::default())).is_none());
        assert!(Cors::new(None).is_none());
    }
}
