//! `sluice health`: one HTTP/1.1 GET to the health_check extension, so a container image's
//! HEALTHCHECK needs no curl. Plain blocking std I/O: no runtime to start for one request.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Where `sluice health` asks without `--endpoint`: the listen address the configs take from
/// `SLUICE_HEALTH_ENDPOINT` (the container image sets it), a wildcard address meaning this host.
pub fn default_endpoint(listen: Option<&str>) -> String {
    let Some(listen) = listen.map(str::trim).filter(|l| !l.is_empty()) else {
        return "http://localhost:13133/".to_owned();
    };
    let port = listen.rsplit_once(':').map_or("13133", |(_, port)| port);
    let host = match listen.rsplit_once(':').map_or(listen, |(host, _)| host) {
        "" | "0.0.0.0" | "[::]" | "::" => "localhost",
        host => host,
    };
    format!("http://{host}:{port}/")
}

/// The parts of an `http://host[:port][/path]` URL a GET needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    path: String,
}

/// Why the check failed; the message is the one line `sluice health` prints.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("invalid endpoint {endpoint:?}: {reason} (expected http://host:port/path)")]
    Endpoint { endpoint: String, reason: String },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("cannot connect to {host}:{port}: {reason}")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("no answer from {host}:{port} within {timeout:?}: {reason}")]
    Io {
        host: String,
        port: u16,
        timeout: Duration,
        reason: String,
    },
    #[error("{url} answered something that is not HTTP: {line:?}")]
    NotHttp { url: String, line: String },
    #[error("{url} answered {status}{detail}")]
    Unhealthy {
        url: String,
        status: u16,
        detail: String,
    },
}

impl Target {
    pub fn parse(endpoint: &str) -> Result<Target, CheckError> {
        let bad = |reason: &str| CheckError::Endpoint {
            endpoint: endpoint.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = match endpoint.split_once("://") {
            Some(("http", rest)) => rest,
            Some((scheme, _)) => {
                return Err(bad(&format!(
                    "scheme {scheme:?} is not supported, health_check serves plain http"
                )));
            }
            None => endpoint,
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if path
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        {
            return Err(bad("the path contains spaces or control characters"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("unexpected text after ']'")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
            None => 80,
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    fn url(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            format!("http://{}:{}{}", self.host, self.port, self.path)
        }
    }

    /// `localhost` is the loopback interface without asking a resolver: a scratch image has
    /// no /etc/hosts of its own.
    fn addresses(&self) -> Result<Vec<SocketAddr>, CheckError> {
        if self.host.eq_ignore_ascii_case("localhost") {
            return Ok(vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port),
            ]);
        }
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let resolve = |reason: String| CheckError::Resolve {
            host: self.host.clone(),
            reason,
        };
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| resolve(e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(resolve("the name has no addresses".into()));
        }
        Ok(addrs)
    }
}

/// GET the target; Ok with the status line's reason when it answers 200.
pub fn check(target: &Target, timeout: Duration) -> Result<String, CheckError> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let io = |e: std::io::Error| CheckError::Io {
        host: target.host.clone(),
        port: target.port,
        timeout,
        reason: e.to_string(),
    };

    let mut last = None;
    let mut stream = None;
    for addr in target.addresses()? {
        match TcpStream::connect_timeout(&addr, left()) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        return Err(CheckError::Connect {
            host: target.host.clone(),
            port: target.port,
            reason: last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
        });
    };

    let host_header = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: sluice-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.path
    );
    stream.set_write_timeout(Some(left())).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;

    // The status line, and as much of the body as arrives in time (for the message).
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if Instant::now() >= deadline {
            if answer.is_empty() {
                return Err(io(std::io::ErrorKind::TimedOut.into()));
            }
            break;
        }
        stream.set_read_timeout(Some(left())).map_err(io)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.len() > 8192 {
                    break;
                }
            }
            Err(e) if answer.is_empty() => return Err(io(e)),
            Err(_) => break,
        }
    }
    interpret(&target.url(), &answer)
}

fn interpret(url: &str, answer: &[u8]) -> Result<String, CheckError> {
    let text = String::from_utf8_lossy(answer);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(not_http(url, status_line));
    };
    let Ok(status) = code.parse::<u16>() else {
        return Err(not_http(url, status_line));
    };
    if !version.starts_with("HTTP/") {
        return Err(not_http(url, status_line));
    }
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim())
        .unwrap_or_default();
    // The extension's JSON names its status ("Server available"); otherwise the reason phrase.
    let status_text = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["status"].as_str().map(str::to_owned))
        .unwrap_or_else(|| parts.next().unwrap_or_default().to_owned());
    if status == 200 {
        Ok(status_text)
    } else {
        Err(CheckError::Unhealthy {
            url: url.to_owned(),
            status,
            detail: if status_text.is_empty() {
                String::new()
            } else {
                format!(" ({status_text})")
            },
        })
    }
}

fn not_http(url: &str, line: &str) -> CheckError {
    CheckError::NotHttp {
        url: url.to_owned(),
        line: line.chars().take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        let t = Target::parse("http://localhost:13133/").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("localhost", 13133, "/")
        );
        let t = Target::parse("127.0.0.1:9/health/status").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 9, "/health/status")
        );
        let t = Target::parse("http://[::1]:13133").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 13133, "/")
        );
        assert_eq!(t.url(), "http://[::1]:13133/");
        assert_eq!(Target::parse("http://sluice").expect("valid").port, 80);
    }

    #[test]
    fn default_endpoint_follows_the_listen_address() {
        assert_eq!(default_endpoint(None), "http://localhost:13133/");
        assert_eq!(
            default_endpoint(Some("0.0.0.0:13133")),
            "http://localhost:13133/"
        );
        assert_eq!(
            default_endpoint(Some("127.0.0.1:23133")),
            "http://127.0.0.1:23133/"
        );
        assert_eq!(default_endpoint(Some(":9000")), "http://localhost:9000/");
        assert_eq!(
            default_endpoint(Some("[::]:9000")),
            "http://localhost:9000/"
        );
    }

    #[test]
    fn refuses_bad_endpoints() {
        for bad in [
            "https://localhost:13133/",
            "http://:13133/",
            "http://h:port/",
            "http://h:1/a b",
            "",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(CheckError::Endpoint { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_the_status() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"status\":\"Server available\"}";
        assert_eq!(interpret("u", ok).expect("healthy"), "Server available");
        let draining =
            b"HTTP/1.1 503 Service Unavailable\r\n\r\n{\"status\":\"Server not available\"}";
        let e = interpret("u", draining).expect_err("unhealthy").to_string();
        assert_eq!(e, "u answered 503 (Server not available)");
        let plain = b"HTTP/1.1 404 Not Found\r\n\r\n";
        assert_eq!(
            interpret("u", plain).expect_err("404").to_string(),
            "u answered 404 (Not Found)"
        );
        assert!(matches!(
            interpret("u", b"SSH-2.0-OpenSSH\r\n"),
            Err(CheckError::NotHttp { .. })
        ));
        assert!(matches!(
            interpret("u", b""),
            Err(CheckError::NotHttp { .. })
        ));
    }
}
