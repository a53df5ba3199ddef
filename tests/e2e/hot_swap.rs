//! Hot swap of a WebAssembly processor in a running Sluice: a reloaded config with new
//! settings swaps the processor (the next batch sees the new version), and a reload whose new
//! version fails `init` changes nothing (the old version keeps serving). Runs the real redact
//! example guest, built by the test command into target/wasm32-wasip2/release.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use sluice::app::App;
use sluice_tests::http::{Client, JSON, Request};

fn config(
    dir: &std::path::Path,
    component: &std::path::Path,
    patterns: &str,
    replacement: &str,
) -> String {
    format!(
        "receivers: {{otlp: {{protocols: {{http: {{endpoint: '127.0.0.1:0'}}}}}}}}\n\
         processors:\n  wasm/redact:\n    component: '{}'\n    config: {{patterns: {patterns}, replacement: '{replacement}'}}\n\
         exporters: {{file: {{path: '{}'}}}}\n\
         service:\n  telemetry: {{metrics: {{level: none}}}}\n  pipelines:\n    traces: {{receivers: [otlp], processors: [wasm/redact], exporters: [file]}}\n",
        component.display(),
        dir.join("out.jsonl").display(),
    )
}

/// Send one span with `secret=<value>` named `name`, and return the secret as it arrived.
async fn roundtrip(app: &App, dir: &std::path::Path, name: &str) -> Result<String> {
    let (_, http) = app.receiver_addrs("otlp");
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c",
        "spanId":"eee19b7ec3c1b174","name":"{name}","kind":1,"startTimeUnixNano":"1","endTimeUnixNano":"2",
        "attributes":[{{"key":"secret","value":{{"stringValue":"hunter2"}}}}]}}]}}]}}]}}"#
    );
    let response = Client::plaintext(http.context("no http listener")?)
        .send(&Request::post("/v1/traces", JSON, body))
        .await?;
    ensure!(response.status == 200, "export failed: {}", response.text());
    for _ in 0..100 {
        let text = std::fs::read_to_string(dir.join("out.jsonl")).unwrap_or_default();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line)?;
            let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
            if span["name"] == name {
                return span["attributes"][0]["value"]["stringValue"]
                    .as_str()
                    .map(str::to_owned)
                    .context("secret attribute missing");
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    anyhow::bail!("span {name} never arrived")
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_swaps_a_wasm_processor_and_a_failing_version_keeps_the_old_one() -> Result<()> {
    let component = sluice::app::guests::builtin("redact").map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    let load = |patterns: &str, replacement: &str| {
        sluice_config::load_str(&config(dir.path(), &component, patterns, replacement))
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let mut app = App::start(load("['secret']", "***")?).await?;
    ensure!(roundtrip(&app, dir.path(), "before").await? == "***");

    let swapped = app.reload(load("['secret']", "###")?);
    ensure!(
        swapped.len() == 1,
        "expected wasm/redact to be swapped: {swapped:?}"
    );
    ensure!(
        roundtrip(&app, dir.path(), "after").await? == "###",
        "the new version does not serve"
    );

    // An invalid regex: the guest's init rejects it, so the running version must stay.
    let swapped = app.reload(load("['(']", "!!!")?);
    ensure!(
        swapped.is_empty(),
        "a version that fails init was swapped in: {swapped:?}"
    );
    ensure!(
        roundtrip(&app, dir.path(), "rejected").await? == "###",
        "the old version stopped serving"
    );

    app.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
