//! `config/prometheus/alerts.yml` is accepted by the real `promtool` (Debian's `prometheus`
//! package, installed by `.ci/setup`) and its unit tests (`alerts.test.yml`) pass: the p95 and
//! error-rate expressions give the expected values and every alert fires when it should.

use anyhow::{Context, Result, ensure};
use sluice_tests::process::workspace_root;
use tokio::process::Command;

async fn promtool(args: &[&str]) -> Result<String> {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(workspace_root().join("config/prometheus"))
        .output()
        .await
        .context("promtool is not installed: run `bash .ci/setup` (apt-get install prometheus)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    ensure!(output.status.success(), "promtool {args:?} failed:\n{text}");
    Ok(text)
}

#[tokio::test]
async fn alert_rules_pass_promtool_check_and_their_unit_tests() -> Result<()> {
    let checked = promtool(&["check", "rules", "alerts.yml"]).await?;
    ensure!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "alerts.test.yml"]).await?;
    ensure!(tested.contains("SUCCESS"), "{tested}");
    Ok(())
}

#[test]
fn grafana_dashboard_is_valid_json_with_the_slo_panels() -> Result<()> {
    let text = std::fs::read_to_string(workspace_root().join("config/grafana/sluice.json"))?;
    let dashboard: serde_json::Value = serde_json::from_str(&text)?;
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .context("no panels")?
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    for needle in [
        "histogram_quantile(0.95",
        "status_code=\"STATUS_CODE_ERROR\"",
        "otelcol_receiver_accepted_spans_total",
        "otelcol_receiver_refused_spans_total",
    ] {
        ensure!(
            exprs.iter().any(|e| e.contains(needle)),
            "no panel queries {needle}"
        );
    }
    Ok(())
}
