//! A real Prometheus (Debian's `prometheus` package, installed by `.ci/setup`) for tests: it
//! scrapes the targets it is given every second, accepts remote write, and answers PromQL
//! queries over its HTTP API.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::http::{Client, Request};
use crate::process::free_port;
use crate::{PATIENCE, poll};

/// A running Prometheus, killed when dropped.
pub struct Prometheus {
    child: Child,
    dir: TempDir,
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Start Prometheus scraping `targets` (`(job, host:port)`) every second, with the remote
    /// write receiver on.
    pub async fn start(targets: &[(&str, SocketAddr)]) -> Result<Prometheus> {
        let dir = tempfile::tempdir()?;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let mut config = String::from(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n",
        );
        for (job, target) in targets {
            config.push_str(&format!(
                "  - {{job_name: \"{job}\", static_configs: [{{targets: [\"{target}\"]}}]}}\n"
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config)?;
        let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-remote-write-receiver")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context(
                "prometheus is not installed: run `bash .ci/setup` (apt-get install prometheus)",
            )?;
        let mut prometheus = Prometheus { child, dir, addr };
        let client = Client::plaintext(addr);
        let ready = poll(PATIENCE, || async {
            let r = client.send(&Request::get("/-/ready")).await.ok()?;
            (r.status == 200).then_some(())
        })
        .await;
        if ready.is_none() {
            let exited = prometheus.child.try_wait()?;
            bail!(
                "Prometheus never became ready (exit: {exited:?}); log:\n{}",
                prometheus.log()
            );
        }
        Ok(prometheus)
    }

    /// `http://addr/api/v1/write`, for a remote-write exporter.
    pub fn remote_write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// An instant query: the `(labels, value)` of every sample of the result vector.
    pub async fn query(&self, promql: &str) -> Result<Vec<(Value, f64)>> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let response = Client::plaintext(self.addr)
            .send(&Request::get(&path))
            .await?;
        let body: Value = serde_json::from_str(&response.text())
            .map_err(|e| anyhow!("query {promql:?}: not JSON ({e}): {}", response.text()))?;
        if body["status"] != "success" {
            bail!("query {promql:?} failed: {body}");
        }
        let result = body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        result
            .into_iter()
            .map(|sample| {
                let value = sample["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| anyhow!("query {promql:?}: no value in {sample}"))?;
                Ok((sample["metric"].clone(), value))
            })
            .collect()
    }

    /// Poll `promql` (bounded) until it returns exactly one sample satisfying `check`.
    pub async fn wait_for_value(
        &self,
        promql: &str,
        within: Duration,
        check: impl Fn(f64) -> bool,
    ) -> Result<f64> {
        let got = poll(within, || async {
            let samples = self.query(promql).await.ok()?;
            match samples.as_slice() {
                [(_, v)] if check(*v) => Some(*v),
                _ => None,
            }
        })
        .await;
        match got {
            Some(v) => Ok(v),
            None => bail!(
                "{promql} never gave the expected value; last result: {:?}",
                self.query(promql).await
            ),
        }
    }
}

/// Percent-encode a query string value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
