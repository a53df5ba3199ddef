//! A gzip bomb (1 GiB of zeros in about 1 MiB) is refused without decompressing it: HTTP answers
//! 413, gRPC refuses the message, and this process (Sluice runs in it) never grows anywhere
//! near the bomb's size.

use std::io::Write;
use std::sync::OnceLock;

use tokio::sync::Mutex;

use anyhow::{Result, ensure};
use http::StatusCode;
use serde_json::json;
use sluice_tests::http::{Client, PROTOBUF, Request};
use sluice_tests::{Setup, grpc, memory};

/// Decompressed size of the bomb.
const BOMB_SIZE: u64 = 1 << 30;
/// `max_request_body_size` of the receiver under test.
const BODY_LIMIT: u64 = 8 << 20;
/// How much the process may grow while refusing the bomb: far under its size, a few times the
/// limit (buffers, other tests running in parallel).
const ALLOWED_GROWTH: u64 = BOMB_SIZE / 16;

/// The bomb, made once per run (a few seconds of CPU) off the async threads.
async fn bomb() -> Result<&'static [u8]> {
    Ok(tokio::task::spawn_blocking(make_bomb).await?)
}

fn make_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let zeros = vec![0u8; 1 << 20];
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..(BOMB_SIZE >> 20) {
            encoder.write_all(&zeros).expect("writing to a Vec");
        }
        encoder.finish().expect("writing to a Vec")
    })
}

/// Peak RSS growth while `work` runs: the peak is reset first where the kernel allows it.
/// Measurements take turns: a reset by one would hide the other's peak.
async fn peak_growth<F: std::future::Future<Output = Result<()>>>(work: F) -> Result<u64> {
    static TURN: Mutex<()> = Mutex::const_new(());
    let _turn = TURN.lock().await;
    let reset = memory::reset_peak_rss();
    let before = if reset {
        memory::rss()
    } else {
        memory::peak_rss()
    };
    let before = before.ok_or_else(|| anyhow::anyhow!("no /proc/self/status"))?;
    work.await?;
    let after = memory::peak_rss().ok_or_else(|| anyhow::anyhow!("no /proc/self/status"))?;
    if !reset {
        eprintln!("gzip_bomb: cannot reset VmHWM; measuring against the earlier peak");
    }
    Ok(after.saturating_sub(before))
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_bomb_gets_413_without_growing_the_process() -> Result<()> {
    let bomb = bomb().await?;
    ensure!(
        bomb.len() < BODY_LIMIT as usize,
        "the bomb must be under the limit on the wire: {}",
        bomb.len()
    );
    let mut setup = Setup::new()?;
    setup.http("max_request_body_size", json!(BODY_LIMIT));
    let sluice = setup.start().await?;

    let growth = peak_growth(async {
        let request = Request::post("/v1/traces", PROTOBUF, bomb.to_vec())
            .header(http::header::CONTENT_ENCODING, "gzip");
        let response = Client::plaintext(sluice.http).send(&request).await?;
        ensure!(
            response.status == StatusCode::PAYLOAD_TOO_LARGE,
            "expected 413, got {} {}",
            response.status,
            response.text()
        );
        Ok(())
    })
    .await?;
    ensure!(
        growth < ALLOWED_GROWTH,
        "peak RSS grew by {} MiB refusing a {} MiB bomb (allowed {} MiB)",
        growth >> 20,
        BOMB_SIZE >> 20,
        ALLOWED_GROWTH >> 20
    );
    ensure!(sluice.output()?.is_empty(), "the bomb reached the pipeline");
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_gzip_bomb_is_refused_without_growing_the_process() -> Result<()> {
    let bomb = bomb().await?;
    let sluice = Setup::new()?.start().await?; // max_recv_msg_size_mib defaults to 4
    let growth = peak_growth(async {
        let answer = grpc::raw_call(sluice.grpc, grpc::TRACES_PATH, bomb, true).await?;
        ensure!(
            answer.code().is_some_and(|c| c != tonic::Code::Ok),
            "the gzip bomb was not refused: {answer:?}"
        );
        Ok(())
    })
    .await?;
    ensure!(
        growth < ALLOWED_GROWTH,
        "peak RSS grew by {} MiB refusing a {} MiB bomb (allowed {} MiB)",
        growth >> 20,
        BOMB_SIZE >> 20,
        ALLOWED_GROWTH >> 20
    );
    ensure!(sluice.output()?.is_empty(), "the bomb reached the pipeline");
    sluice.stop().await;
    Ok(())
}
