//! A TLS 1.1 client is refused with a TLS alert (Sluice speaks TLS 1.2 and 1.3 only). rustls cannot speak 1.1,
//! so the client is `openssl s_client`, or Python's ssl module when openssl is missing. A
//! TLS 1.2 handshake with the same tool must succeed, so a tool that cannot connect at all does
//! not pass for a refusal.

use std::net::SocketAddr;
use std::process::Stdio;

use anyhow::{Result, bail, ensure};
use sluice_tests::{Certs, PATIENCE, Setup};
use tokio::process::Command;

/// Python's view of one handshake: prints `ACCEPTED <version>` or `REFUSED <error>`.
const PYTHON_HANDSHAKE: &str = r#"
import socket, ssl, sys
port, version = int(sys.argv[1]), getattr(ssl.TLSVersion, sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
ctx.minimum_version = version
ctx.maximum_version = version
try:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with ctx.wrap_socket(sock) as tls:
            print("ACCEPTED", tls.version())
except (ssl.SSLError, OSError) as e:
    print("REFUSED", e)
"#;

#[derive(Debug, Clone, Copy)]
enum Tool {
    Openssl,
    Python,
}

async fn available(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// One handshake at `version` ("1.1" or "1.2"): (handshake completed, everything printed).
async fn handshake(tool: Tool, addr: SocketAddr, version: &str) -> Result<(bool, String)> {
    let mut command = match tool {
        Tool::Openssl => {
            let flag = if version == "1.1" {
                "-tls1_1"
            } else {
                "-tls1_2"
            };
            let mut c = Command::new("openssl");
            c.args(["s_client", "-connect", &addr.to_string(), flag])
                .args(["-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "localhost"]);
            c
        }
        Tool::Python => {
            let name = if version == "1.1" {
                "TLSv1_1"
            } else {
                "TLSv1_2"
            };
            let mut c = Command::new("python3");
            c.args(["-c", PYTHON_HANDSHAKE, &addr.port().to_string(), name]);
            c
        }
    };
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output()).await??;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let completed = match tool {
        Tool::Openssl => {
            output.status.success() && text.contains(&format!("Protocol  : TLSv{version}"))
        }
        Tool::Python => text.starts_with("ACCEPTED"),
    };
    Ok((completed, text))
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_1_1_client_is_refused_on_both_protocols() -> Result<()> {
    let tool = if available("openssl", "version").await {
        Tool::Openssl
    } else if available("python3", "--version").await {
        Tool::Python
    } else {
        eprintln!("SKIPPING tls_1_1_client_is_refused: neither openssl nor python3 is installed");
        return Ok(());
    };
    let certs = Certs::new()?;
    let mut setup = Setup::new()?;
    setup.tls(certs.server_tls());
    let sluice = setup.start().await?;
    for (protocol, addr) in [("gRPC", sluice.grpc), ("HTTP", sluice.http)] {
        let (completed, text) = handshake(tool, addr, "1.2").await?;
        ensure!(
            completed,
            "{protocol}: the TLS 1.2 control handshake with {tool:?} failed:\n{text}"
        );
        let (completed, text) = handshake(tool, addr, "1.1").await?;
        if completed {
            bail!("{protocol}: a TLS 1.1 handshake with {tool:?} succeeded:\n{text}");
        }
        // Refused by the server (an alert: rustls finds no TLS 1.1 cipher suite it shares and
        // answers handshake_failure), not a client that never sent its hello.
        ensure!(
            text.to_lowercase().contains("alert"),
            "{protocol}: expected a TLS alert from the server, {tool:?} said:\n{text}"
        );
    }
    sluice.stop().await;
    Ok(())
}
