//! Per-environment bundles: `--env NAME` selects config/base.yaml + config/NAME.yaml and names
//! the environment. Each shipped bundle runs as shipped (only its listeners moved to port 0 and
//! its exporters swapped for a file): dev in plaintext keeping every trace, staging behind TLS
//! and BasicAuth keeping ~25% of ordinary traces, prod behind TLS, BasicAuth and mTLS keeping
//! ~10%; all keep error traces and stamp their own `deployment.environment`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use sluice::app::App;
use sluice_tests::certs::{Certs, Identity};
use sluice_tests::htpasswd;
use sluice_tests::http::{Client, JSON, Request};
use sluice_tests::process::workspace_root;

/// Ordinary (fast, OK) traces sent to each environment, besides one error trace.
const ORDINARY: usize = 400;

#[test]
fn env_selects_base_then_its_overlay_and_names_the_environment() -> Result<()> {
    let dir = workspace_root().join("config");
    for env in ["dev", "staging", "prod"] {
        let selection = sluice::environment::select(&[], Some(env), &dir)?;
        ensure!(
            selection.files == [dir.join("base.yaml"), dir.join(format!("{env}.yaml"))],
            "{env}: {:?}",
            selection.files
        );
        let config = sluice::commands::load(&selection).map_err(|e| anyhow::anyhow!("{e}"))?;
        ensure!(config.environment.as_deref() == Some(env), "{env}");
        ensure!(
            config.sources == selection.files,
            "{env}: {:?}",
            config.sources
        );
    }
    let unknown = sluice::environment::select(&[], Some("qa"), &dir)
        .err()
        .context("qa is not shipped")?
        .to_string();
    ensure!(
        unknown.contains("available: dev, mtls, prod, staging"),
        "{unknown}"
    );
    Ok(())
}

/// The trace id of ordinary trace `i`: well spread, like real random ids.
fn trace_id(i: usize) -> String {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    format!("{:016x}{:016x}", next(), next())
}

fn spans_body() -> String {
    let span = |name: String, trace: String, error: bool| {
        json!({"traceId": trace, "spanId": "eee19b7ec3c1b174", "name": name, "kind": 2,
               "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000001000000",
               "status": {"code": if error { 2 } else { 1 }}})
    };
    let mut spans: Vec<Value> = (0..ORDINARY)
        .map(|i| span(format!("ordinary-{i}"), trace_id(i), false))
        .collect();
    spans.push(span(
        "failed".into(),
        "5b8efff798038103d269b633813fc60c".into(),
        true,
    ));
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "env-check"}}]},
        "scopeSpans": [{"spans": spans}]}]})
    .to_string()
}

/// Config files, as shipped, plus a last overlay writing every signal to `out`.
fn bundle(env: &str, out: &Path) -> Result<Vec<(Option<std::path::PathBuf>, String)>> {
    let mut docs = Vec::new();
    for name in ["base", env] {
        let file = workspace_root().join(format!("config/{name}.yaml"));
        docs.push((Some(file.clone()), std::fs::read_to_string(file)?));
    }
    let overlay = json!({
        "exporters": {"file": {"path": out}},
        "service": {"pipelines": {
            "traces": {"exporters": ["file"]},
            "metrics": {"exporters": ["file"]},
            "logs": {"exporters": ["file"]},
        }},
    });
    docs.push((None, serde_yaml::to_string(&overlay)?));
    Ok(docs)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_environment_bundle_runs_as_shipped() -> Result<()> {
    let certs = Certs::new()?;
    let htpasswd_file = certs.path("htpasswd");
    std::fs::write(&htpasswd_file, htpasswd::bcrypt("e2e", "secret") + "\n")?;
    let token_file = certs.path("tempo-token");
    std::fs::write(&token_file, "e2e-token\n")?;
    // (environment, stamped value, TLS + BasicAuth, mTLS, share of ordinary traces kept)
    for (env, stamped, secure, mtls, share) in [
        ("dev", "development", false, false, 1.0),
        ("staging", "staging", true, false, 0.25),
        ("prod", "production", true, true, 0.10),
    ] {
        let out = certs.path(&format!("{env}.jsonl"));
        let mut vars: HashMap<&str, String> = HashMap::new();
        for var in [
            "SLUICE_GRPC_ENDPOINT",
            "SLUICE_HTTP_ENDPOINT",
            "SLUICE_HEALTH_ENDPOINT",
            "SLUICE_PROMETHEUS_ENDPOINT",
            "SLUICE_METRICS_ENDPOINT",
        ] {
            vars.insert(var, "127.0.0.1:0".into());
        }
        vars.insert(
            "SLUICE_TLS_CERT",
            certs.path("server.crt").display().to_string(),
        );
        vars.insert(
            "SLUICE_TLS_KEY",
            certs.path("server.key").display().to_string(),
        );
        vars.insert(
            "OTLP_BASICAUTH_HTPASSWD",
            htpasswd_file.display().to_string(),
        );
        vars.insert("TEMPO_BEARER_TOKEN_FILE", token_file.display().to_string());
        if mtls {
            vars.insert("SLUICE_CLIENT_CA", certs.ca_file().display().to_string());
        }
        let mut config =
            sluice_config::load_documents(bundle(env, &out)?, &|name| vars.get(name).cloned())
                .map_err(|e| anyhow::anyhow!("{env}: {e}"))?;
        config.environment = Some(env.to_owned());
        let app = App::start(config).await?;
        let addr = app.receiver_addrs("otlp").1.context("no http listener")?;

        let request = Request::post("/v1/traces", JSON, spans_body());
        let response = if secure {
            let client = Client::tls(addr, certs.client(Identity::Good, &[b"http/1.1"])?);
            // Refusals are probed with an empty request: the server answers 401 without reading
            // a large body and closes, which the client may see as a broken pipe.
            let probe = Request::post("/v1/traces", JSON, r#"{"resourceSpans":[]}"#);
            let anonymous = client.send(&probe).await?;
            ensure!(
                anonymous.status == 401,
                "{env}: without credentials: {}",
                anonymous.status
            );
            let without_cert = Client::tls(addr, certs.client(Identity::None, &[b"http/1.1"])?)
                .try_send(&probe.clone().basic_auth("e2e", "secret"))
                .await;
            let refused = !matches!(&without_cert, Ok(r) if r.status == 200);
            ensure!(
                refused == mtls,
                "{env}: a client without a certificate was {} ({without_cert:?})",
                if refused { "refused" } else { "accepted" }
            );
            client.send(&request.basic_auth("e2e", "secret")).await?
        } else {
            Client::plaintext(addr).send(&request).await?
        };
        ensure!(
            response.status == 200,
            "{env}: export failed: {} {}",
            response.status,
            response.text()
        );
        // Tail sampling decides every buffered trace at shutdown.
        app.shutdown(Duration::from_secs(10)).await;

        let mut names = Vec::new();
        for line in std::fs::read_to_string(&out)?.lines() {
            let value: Value = serde_json::from_str(line)?;
            for rs in value["resourceSpans"].as_array().into_iter().flatten() {
                let env_attr = rs["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|kv| kv["key"] == "deployment.environment")
                    .and_then(|kv| kv["value"]["stringValue"].as_str());
                ensure!(
                    env_attr == Some(stamped),
                    "{env}: deployment.environment is {env_attr:?}"
                );
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for span in ss["spans"].as_array().into_iter().flatten() {
                        names.push(span["name"].as_str().unwrap_or_default().to_owned());
                    }
                }
            }
        }
        ensure!(
            names.iter().any(|n| n == "failed"),
            "{env}: the error trace was not kept"
        );
        let kept = names.iter().filter(|n| n.starts_with("ordinary-")).count() as f64;
        let n = ORDINARY as f64;
        let (mean, sigma) = (n * share, (n * share * (1.0 - share)).sqrt());
        ensure!(
            (kept - mean).abs() <= 4.0 * sigma,
            "{env}: kept {kept} of {ORDINARY} ordinary traces, expected {mean} ± {:.0}",
            4.0 * sigma
        );
    }
    Ok(())
}
