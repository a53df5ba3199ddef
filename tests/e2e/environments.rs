//! Per-environment bundles: config/dev.yaml, staging.yaml and prod.yaml configure the same
//! processor name (`transform/environment`) differently, and each stamps its own environment.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use sluice::app::App;
use sluice_tests::http::{Client, JSON, Request};
use sluice_tests::process::workspace_root;

#[tokio::test(flavor = "multi_thread")]
async fn each_environment_config_runs_its_own_transform() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for (env, expected) in [
        ("dev", "development"),
        ("staging", "staging"),
        ("prod", "production"),
    ] {
        let text = std::fs::read_to_string(workspace_root().join(format!("config/{env}.yaml")))?;
        // Keep the environment's processors; swap its receivers and exporters for test ones.
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&text)?;
        doc["receivers"] =
            serde_yaml::from_str("{otlp: {protocols: {http: {endpoint: '127.0.0.1:0'}}}}")?;
        let out = dir.path().join(format!("{env}.jsonl"));
        doc["exporters"] =
            serde_yaml::from_str(&format!("{{file: {{path: '{}'}}}}", out.display()))?;
        doc["extensions"] = serde_yaml::Value::Null;
        // Connectors feed pipelines whose exporters are swapped here: leave them out.
        doc["connectors"] = serde_yaml::Value::Null;
        doc["service"]["pipelines"]["metrics"]["receivers"] = serde_yaml::from_str("[otlp]")?;
        doc["service"]["extensions"] = serde_yaml::Value::Null;
        doc["service"]["telemetry"] = serde_yaml::from_str("{metrics: {level: none}}")?;
        for signal in ["traces", "metrics", "logs"] {
            doc["service"]["pipelines"][signal]["exporters"] = serde_yaml::from_str("[file]")?;
        }
        let config =
            sluice_config::load_documents(vec![(None, serde_yaml::to_string(&doc)?)], &|_| None)
                .map_err(|e| anyhow::anyhow!("{env}: {e}"))?;
        let app = App::start(config).await?;
        let http = app.receiver_addrs("otlp").1.context("no http listener")?;
        let body = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
            "spanId":"eee19b7ec3c1b174","name":"env-check","kind":1,"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
        let response = Client::plaintext(http)
            .send(&Request::post("/v1/traces", JSON, body))
            .await?;
        ensure!(
            response.status == 200,
            "{env}: export failed: {}",
            response.text()
        );
        // The batch processor holds the span until shutdown flushes it.
        app.shutdown(Duration::from_secs(5)).await;
        let line = std::fs::read_to_string(&out)?;
        let value: serde_json::Value =
            serde_json::from_str(line.lines().next().context("no output")?)?;
        let attrs = &value["resourceSpans"][0]["resource"]["attributes"];
        let stamped = attrs
            .as_array()
            .into_iter()
            .flatten()
            .find(|kv| kv["key"] == "deployment.environment")
            .and_then(|kv| kv["value"]["stringValue"].as_str());
        ensure!(
            stamped == Some(expected),
            "{env}: deployment.environment is {stamped:?}: {value}"
        );
    }
    Ok(())
}
