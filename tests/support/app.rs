//! A Sluice running inside the test process, started from a config the test builds.
//!
//! The config is built as JSON (YAML is a superset of JSON) and loaded with
//! `sluice_config::load_str`, so tests go through the same validation as the binary. The base
//! config is an `otlp` receiver with gRPC and HTTP on `127.0.0.1:0`, a `file` exporter writing to
//! the test's temporary directory, and a traces, a metrics and a logs pipeline.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};
use sluice::app::App;
use tempfile::TempDir;

use crate::output::Output;
use crate::{PATIENCE, poll};

/// The extension id of the BasicAuth authenticator [`Setup::basic_auth`] configures.
pub const BASIC_AUTH: &str = "basicauth/server";

/// A config being put together, and the directory its files go into.
pub struct Setup {
    dir: TempDir,
    /// The whole config, for changes the helpers do not cover.
    pub config: Value,
    /// The environment name (`--env`), shown to guests.
    pub environment: Option<String>,
}

impl Setup {
    pub fn new() -> Result<Setup> {
        let dir = tempfile::tempdir()?;
        let pipeline = json!({ "receivers": ["otlp"], "processors": [], "exporters": ["file"] });
        let config = json!({
            "receivers": { "otlp": { "protocols": {
                "grpc": { "endpoint": "127.0.0.1:0" },
                "http": { "endpoint": "127.0.0.1:0" },
            }}},
            "processors": {},
            "exporters": { "file": { "path": dir.path().join("out.jsonl") } },
            "extensions": {},
            "service": {
                "extensions": [],
                "pipelines": { "traces": pipeline, "metrics": pipeline, "logs": pipeline },
                // Never the default localhost:8888: tests run in parallel.
                "telemetry": { "metrics": { "address": "127.0.0.1:0" } },
            },
        });
        Ok(Setup {
            dir,
            config,
            environment: None,
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Set `key` on both `protocols.grpc` and `protocols.http`.
    pub fn protocols(&mut self, key: &str, value: Value) -> &mut Setup {
        self.grpc(key, value.clone()).http(key, value)
    }

    /// Set `key` on `protocols.grpc`.
    pub fn grpc(&mut self, key: &str, value: Value) -> &mut Setup {
        self.config["receivers"]["otlp"]["protocols"]["grpc"][key] = value;
        self
    }

    /// Set `key` on `protocols.http`.
    pub fn http(&mut self, key: &str, value: Value) -> &mut Setup {
        self.config["receivers"]["otlp"]["protocols"]["http"][key] = value;
        self
    }

    /// TLS (`tls:` block from [`crate::Certs`]) on both protocols.
    pub fn tls(&mut self, tls: Value) -> &mut Setup {
        self.protocols("tls", tls)
    }

    /// `basicauth/server` with these htpasswd lines inline, required on both protocols.
    pub fn basic_auth(&mut self, htpasswd_lines: &[String]) -> &mut Setup {
        let inline = htpasswd_lines.join("\n") + "\n";
        self.extension(BASIC_AUTH, json!({ "htpasswd": { "inline": inline } }));
        self.protocols("auth", json!({ "authenticator": BASIC_AUTH }))
    }

    /// Add an extension and enable it in `service.extensions`.
    pub fn extension(&mut self, id: &str, settings: Value) -> &mut Setup {
        self.config["extensions"][id] = settings;
        push(&mut self.config["service"]["extensions"], id);
        self
    }

    /// Add a processor to the end of every pipeline.
    pub fn processor(&mut self, id: &str, settings: Value) -> &mut Setup {
        self.config["processors"][id] = settings;
        for signal in ["traces", "metrics", "logs"] {
            push(
                &mut self.config["service"]["pipelines"][signal]["processors"],
                id,
            );
        }
        self
    }

    /// Add a processor to the end of the traces pipeline only (`tail_sampling` is traces-only,
    /// `probabilistic_sampler` takes no metrics).
    pub fn traces_processor(&mut self, id: &str, settings: Value) -> &mut Setup {
        self.config["processors"][id] = settings;
        push(
            &mut self.config["service"]["pipelines"]["traces"]["processors"],
            id,
        );
        self
    }

    /// Define exporter `id` and make it the only exporter of every pipeline.
    pub fn export_to(&mut self, id: &str, settings: Value) -> &mut Setup {
        self.config["exporters"][id] = settings;
        for signal in ["traces", "metrics", "logs"] {
            self.config["service"]["pipelines"][signal]["exporters"] = json!([id]);
        }
        self
    }

    /// Set the exporters of one pipeline (`traces`, `metrics`, `logs`).
    pub fn pipeline_exporters(&mut self, pipeline: &str, ids: &[&str]) -> &mut Setup {
        self.config["service"]["pipelines"][pipeline]["exporters"] = json!(ids);
        self
    }

    /// The health check extension on `127.0.0.1:0` (self metrics are always on, also port 0).
    pub fn health_check(&mut self) -> &mut Setup {
        self.extension("health_check", json!({ "endpoint": "127.0.0.1:0" }))
    }

    /// The config as YAML text (JSON is YAML).
    pub fn yaml(&self) -> String {
        serde_json::to_string_pretty(&self.config).expect("JSON values serialize")
    }

    /// Write the config to `config.yaml` in the test directory (for the binary).
    pub fn write(&self) -> Result<PathBuf> {
        let path = self.dir.path().join("config.yaml");
        std::fs::write(&path, self.yaml())?;
        Ok(path)
    }

    /// Load the config as the binary would and start Sluice in this process.
    pub async fn start(self) -> Result<Sluice> {
        let mut config = sluice_config::load_str(&self.yaml())
            .map_err(|errors| anyhow!("config refused:\n{errors}\n{}", self.yaml()))?;
        config.environment = self.environment.clone();
        let app = App::start(config).await.context("starting Sluice")?;
        let (grpc, http) = app.receiver_addrs("otlp");
        let servers = app.server_addrs();
        let health = self.config["service"]["extensions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|id| id == "health_check"));
        let (health, metrics) = match (health, servers.as_slice()) {
            (true, [health, metrics, ..]) => (Some(*health), Some(*metrics)),
            (false, [metrics, ..]) => (None, Some(*metrics)),
            _ => (None, None),
        };
        Ok(Sluice {
            out: self.dir.path().join("out.jsonl"),
            app: Some(app),
            _dir: self.dir,
            grpc: grpc.context("the otlp receiver has no gRPC listener")?,
            http: http.context("the otlp receiver has no HTTP listener")?,
            health,
            metrics,
        })
    }
}

fn push(list: &mut Value, id: &str) {
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(items) = list.as_array_mut() {
        items.push(json!(id));
    }
}

/// A running in-process Sluice. Dropping it closes its listeners; [`Sluice::stop`] drains.
pub struct Sluice {
    app: Option<App>,
    _dir: TempDir,
    out: PathBuf,
    /// The gRPC listener of the `otlp` receiver.
    pub grpc: SocketAddr,
    /// The HTTP listener of the `otlp` receiver.
    pub http: SocketAddr,
    /// The health check, when configured.
    pub health: Option<SocketAddr>,
    /// The self-metrics endpoint.
    pub metrics: Option<SocketAddr>,
}

impl Sluice {
    /// Start with the base config (plaintext gRPC and HTTP, file exporter).
    pub async fn plaintext() -> Result<Sluice> {
        Setup::new()?.start().await
    }

    /// The file exporter's output file.
    pub fn output_path(&self) -> &Path {
        &self.out
    }

    /// What the file exporter wrote so far.
    pub fn output(&self) -> Result<Output> {
        Output::read(&self.out)
    }

    /// Wait (bounded) until every one of `names` is among the output's span names.
    pub async fn wait_for_spans(&self, names: &[String]) -> Result<Output> {
        self.wait_for("spans", names, Output::span_names).await
    }

    /// Wait (bounded) until every one of `names` is among the output's metric names.
    pub async fn wait_for_metrics(&self, names: &[String]) -> Result<Output> {
        self.wait_for("metrics", names, Output::metric_names).await
    }

    /// Wait (bounded) until every one of `bodies` is among the output's log bodies.
    pub async fn wait_for_logs(&self, bodies: &[String]) -> Result<Output> {
        self.wait_for("log records", bodies, Output::log_bodies)
            .await
    }

    async fn wait_for(
        &self,
        what: &str,
        wanted: &[String],
        found: fn(&Output) -> Vec<String>,
    ) -> Result<Output> {
        let arrived = poll(PATIENCE, || async {
            let output = self.output().ok()?;
            let have = found(&output);
            wanted.iter().all(|w| have.contains(w)).then_some(output)
        })
        .await;
        match arrived {
            Some(output) => Ok(output),
            None => {
                let have = found(&self.output()?);
                let missing: Vec<&String> = wanted.iter().filter(|w| !have.contains(w)).collect();
                Err(anyhow!(
                    "{} of {} {what} never arrived in {} within {PATIENCE:?} (missing: {missing:?}; present: {have:?})",
                    missing.len(),
                    wanted.len(),
                    self.out.display(),
                ))
            }
        }
    }

    /// The self-metrics exposition text.
    pub async fn self_metrics(&self) -> Result<String> {
        let addr = self.metrics.context("no self-metrics address")?;
        let response = crate::http::Client::plaintext(addr)
            .send(&crate::http::Request::get("/metrics"))
            .await?;
        Ok(response.text())
    }

    /// The app, for metrics and the like.
    pub fn app(&self) -> &App {
        self.app.as_ref().expect("Sluice is running until stop()")
    }

    /// Reload with `config` (a [`Setup::config`], changed; its paths still point into this
    /// Sluice's directory), loaded and validated as at start, through `App::reload`. Returns
    /// the ids of the processors it swapped.
    pub fn reload(&mut self, config: &Value) -> Result<Vec<String>> {
        let yaml = serde_json::to_string_pretty(config)?;
        let config = sluice_config::load_str(&yaml)
            .map_err(|errors| anyhow!("reloaded config refused:\n{errors}\n{yaml}"))?;
        let app = self.app.as_mut().context("Sluice is stopped")?;
        Ok(app.reload(config).iter().map(ToString::to_string).collect())
    }

    /// Stop accepting, drain and flush (grace 5 s).
    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown(Duration::from_secs(5)).await;
        }
    }
}
