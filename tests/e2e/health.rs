//! `sluice health`, the container image's HEALTHCHECK: exit 0 when the health_check extension
//! answers 200, 1 with one line saying why otherwise (nothing listening, 503 while starting or
//! draining, no answer in time).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use sluice_tests::process::{Process, free_port, run};

#[tokio::test(flavor = "multi_thread")]
async fn health_exits_0_when_sluice_is_healthy() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let config = dir.path().join("sluice.yaml");
    std::fs::write(
        &config,
        format!(
            "receivers: {{otlp: {{protocols: {{http: {{endpoint: '127.0.0.1:0'}}}}}}}}\n\
             exporters: {{nop: }}\n\
             extensions: {{health_check: {{endpoint: '127.0.0.1:{port}'}}}}\n\
             service:\n  extensions: [health_check]\n  telemetry: {{metrics: {{level: none}}}}\n  \
             pipelines: {{traces: {{receivers: [otlp], exporters: [nop]}}}}\n"
        ),
    )?;
    let mut sluice = Process::spawn(&config, &dir.path().join("sluice.log"))?;
    let addr = format!("127.0.0.1:{port}").parse()?;
    sluice.wait_healthy(addr).await?;

    let endpoint = format!("http://127.0.0.1:{port}/");
    let (status, stdout, stderr) = run(&["health", "--endpoint", &endpoint]).await?;
    ensure!(
        status.code() == Some(0) && stdout.contains("Server available"),
        "sluice health on a healthy Sluice: {status}\n{stdout}{stderr}"
    );
    // `localhost` is the loopback interface, whatever /etc/hosts says.
    let (status, stdout, stderr) =
        run(&["health", "--endpoint", &format!("localhost:{port}")]).await?;
    ensure!(
        status.code() == Some(0),
        "sluice health --endpoint localhost:{port}: {status}\n{stdout}{stderr}"
    );
    sluice.terminate().await?;
    let exit = sluice.wait(Duration::from_secs(30)).await?;
    ensure!(exit.success(), "Sluice exited with {exit}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn health_exits_1_when_nothing_listens() -> Result<()> {
    let port = free_port()?;
    let (status, stdout, stderr) =
        run(&["health", "--endpoint", &format!("http://127.0.0.1:{port}/")]).await?;
    ensure!(
        status.code() == Some(1),
        "nothing listening: {status}\n{stdout}{stderr}"
    );
    ensure!(
        stderr.lines().count() == 1 && stderr.contains("cannot connect to 127.0.0.1"),
        "not one line naming the address: {stderr:?}"
    );
    Ok(())
}

/// A one-shot HTTP server answering `answer` (or nothing, holding the connection, when None).
fn serve_once(answer: Option<&'static str>) -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            match answer {
                Some(answer) => {
                    let _ = stream.write_all(answer.as_bytes());
                }
                None => std::thread::sleep(Duration::from_secs(10)),
            }
        }
    });
    Ok(port)
}

#[tokio::test(flavor = "multi_thread")]
async fn health_exits_1_on_503_and_on_silence() -> Result<()> {
    let port = serve_once(Some(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n{\"status\":\"Server not available\"}",
    ))?;
    let (status, _, stderr) =
        run(&["health", "--endpoint", &format!("http://127.0.0.1:{port}/")]).await?;
    ensure!(
        status.code() == Some(1) && stderr.contains("answered 503"),
        "503: {status}\n{stderr}"
    );

    let port = serve_once(None)?;
    let started = Instant::now();
    let (status, _, stderr) = run(&[
        "health",
        "--endpoint",
        &format!("http://127.0.0.1:{port}/"),
        "--timeout",
        "500ms",
    ])
    .await?;
    ensure!(
        status.code() == Some(1) && stderr.contains("no answer"),
        "silent server: {status}\n{stderr}"
    );
    ensure!(
        started.elapsed() < Duration::from_secs(5),
        "the timeout was not kept: {:?}",
        started.elapsed()
    );
    Ok(())
}
