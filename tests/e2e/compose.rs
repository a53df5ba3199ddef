//! The compose files in deploy/compose: every local file they mount or build from exists (or
//! is one of the files their header says to generate, which git ignores), named volumes are
//! declared, and the Sluice configs they run pass validation (guests' init included) with the
//! environment the compose file gives them. No container runtime needed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde_yaml::Value;
use sluice_tests::process::workspace_root;

fn compose_dir() -> PathBuf {
    workspace_root().join("deploy/compose")
}

fn compose_files() -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(compose_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// `${NAME:-default}` / `${NAME}` as compose interpolates them, with nothing set.
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        out.push_str(inner.split_once(":-").map_or("", |(_, default)| default));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A service's bind mounts: container path → host path.
fn bind_mounts(service: &Value, dir: &Path) -> HashMap<String, PathBuf> {
    let mut mounts = HashMap::new();
    for volume in strings(&service["volumes"]) {
        let mut parts = volume.split(':');
        let (Some(source), Some(target)) = (parts.next(), parts.next()) else {
            continue;
        };
        if source.starts_with('.') || source.starts_with('/') {
            mounts.insert(target.to_owned(), dir.join(source));
        }
    }
    mounts
}

/// Is `path` one of the generated paths (or inside one)?
fn generated(path: &Path, generated: &[PathBuf]) -> bool {
    generated.iter().any(|g| path.starts_with(g))
}

#[test]
fn compose_files_reference_only_existing_files() -> Result<()> {
    let files = compose_files()?;
    ensure!(
        files.len() >= 2,
        "expected seed-000 and seed-002: {files:?}"
    );
    let gitignore = std::fs::read_to_string(compose_dir().join(".gitignore"))?;
    for file in &files {
        let name = file.display();
        let dir = file.parent().context("no parent")?;
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(file)?)
            .with_context(|| format!("{name}: invalid YAML"))?;
        let made: Vec<PathBuf> = strings(&doc["x-sluice-generated"])
            .iter()
            .map(|p| dir.join(p))
            .collect();
        for path in strings(&doc["x-sluice-generated"]) {
            let top = path
                .trim_start_matches("./")
                .split('/')
                .next()
                .unwrap_or_default();
            ensure!(
                gitignore.lines().any(|l| l.trim_end_matches('/') == top),
                "{name}: generated {path} is not in deploy/compose/.gitignore"
            );
        }
        let declared = doc["volumes"].as_mapping().cloned().unwrap_or_default();
        let services = doc["services"]
            .as_mapping()
            .with_context(|| format!("{name}: no services"))?;
        ensure!(!services.is_empty(), "{name}: no services");
        for (service_name, service) in services {
            let service_name = service_name.as_str().unwrap_or_default();
            if let Some(context) = service["build"]["context"].as_str() {
                let context = dir.join(context);
                ensure!(
                    context.is_dir(),
                    "{name}: {service_name}: no build context {context:?}"
                );
                let dockerfile = service["build"]["dockerfile"]
                    .as_str()
                    .unwrap_or("Dockerfile");
                ensure!(
                    context.join(dockerfile).is_file(),
                    "{name}: {service_name}: no {dockerfile} in {context:?}"
                );
            }
            for volume in strings(&service["volumes"]) {
                let source = volume.split(':').next().unwrap_or_default();
                if source.starts_with('.') || source.starts_with('/') {
                    let path = dir.join(source);
                    ensure!(
                        path.exists() || generated(&path, &made),
                        "{name}: {service_name} mounts {source}, which does not exist"
                    );
                } else {
                    ensure!(
                        declared.contains_key(source),
                        "{name}: {service_name} uses volume {source}, not declared under volumes:"
                    );
                }
            }
            for dependency in strings(&service["depends_on"]) {
                ensure!(
                    services.contains_key(dependency.as_str()),
                    "{name}: {service_name} depends on unknown service {dependency}"
                );
            }
        }
    }
    Ok(())
}

/// The config files a Sluice service runs (host paths) and the environment it sees.
fn sluice_selection(
    service: &Value,
    dir: &Path,
    env_name: &str,
) -> Result<(Vec<PathBuf>, HashMap<String, String>)> {
    let mounts = bind_mounts(service, dir);
    let host = |container: &str| {
        mounts
            .get(container)
            .cloned()
            .with_context(|| format!("{container} is not mounted"))
    };
    let mut vars: HashMap<String, String> = service["environment"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let value = match v {
                Value::String(s) => interpolate(s),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.as_str()?.to_owned(), value))
        })
        .collect();
    vars.insert("SLUICE_ENV".into(), env_name.to_owned());
    let command = strings(&service["command"]);
    let configs: Vec<&String> = command
        .iter()
        .zip(command.iter().skip(1))
        .filter(|(flag, _)| flag.as_str() == "--config")
        .map(|(_, file)| file)
        .collect();
    let files = if configs.is_empty() {
        vec![
            host("/etc/sluice/base.yaml")?,
            host(&format!("/etc/sluice/{env_name}.yaml"))?,
        ]
    } else {
        configs.iter().map(|c| host(c)).collect::<Result<_>>()?
    };
    Ok((files, vars))
}

#[test]
fn sluice_configs_in_compose_files_are_valid() -> Result<()> {
    let mut checked = Vec::new();
    for file in compose_files()? {
        let dir = file.parent().context("no parent")?;
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&file)?)?;
        for (service_name, service) in doc["services"].as_mapping().into_iter().flatten() {
            let image = service["image"].as_str().unwrap_or_default();
            if !image.contains("sluice") {
                continue;
            }
            // The compose file's SLUICE_ENV default, and staging, which its header offers.
            let default_env = service["environment"]["SLUICE_ENV"]
                .as_str()
                .map(interpolate)
                .unwrap_or_else(|| "dev".into());
            let mut envs = vec![default_env];
            if file.ends_with("seed-002.yaml") {
                envs.push("staging".into());
            }
            for env_name in envs {
                let (files, vars) = sluice_selection(service, dir, &env_name)?;
                let docs = files
                    .iter()
                    .map(|f| Ok((Some(f.clone()), std::fs::read_to_string(f)?)))
                    .collect::<Result<Vec<_>>>()?;
                let what = format!(
                    "{}: {} ({env_name}: {files:?})",
                    file.display(),
                    service_name.as_str().unwrap_or_default()
                );
                let mut config =
                    sluice_config::load_documents(docs, &|name| vars.get(name).cloned())
                        .map_err(|e| anyhow::anyhow!("{what}:\n{e}"))?;
                config.environment = Some(env_name.clone());
                let (problems, _) = sluice::app::wasm::WasmProcessors::check(&config);
                if !problems.is_empty() {
                    bail!("{what}: {problems:?}");
                }
                checked.push(what);
            }
        }
    }
    ensure!(checked.len() >= 3, "Sluice services checked: {checked:?}");
    Ok(())
}

#[test]
fn prometheus_and_grafana_in_seed_002_find_what_is_mounted() -> Result<()> {
    let dir = compose_dir();
    let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(dir.join("seed-002.yaml"))?)?;
    let services = &doc["services"];
    let prometheus = bind_mounts(&services["prometheus"], &dir);
    let config: Value = serde_yaml::from_str(&std::fs::read_to_string(
        prometheus
            .get("/etc/prometheus/prometheus.yml")
            .context("prometheus.yml not mounted")?,
    )?)?;
    for rules in strings(&config["rule_files"]) {
        let host = prometheus
            .get(&rules)
            .with_context(|| format!("rule file {rules} is not mounted"))?;
        ensure!(
            host.canonicalize()? == workspace_root().join("config/prometheus/alerts.yml"),
            "{rules} is not config/prometheus/alerts.yml"
        );
    }
    let mut targets = Vec::new();
    for job in config["scrape_configs"].as_sequence().into_iter().flatten() {
        for static_config in job["static_configs"].as_sequence().into_iter().flatten() {
            targets.extend(strings(&static_config["targets"]));
        }
    }
    for port in ["sluice:8888", "sluice:8889"] {
        ensure!(
            targets.iter().any(|t| t == port),
            "{port} is not scraped: {targets:?}"
        );
    }
    let grafana = bind_mounts(&services["grafana"], &dir);
    let provider: Value = serde_yaml::from_str(&std::fs::read_to_string(
        grafana
            .get("/etc/grafana/provisioning/dashboards/dashboards.yaml")
            .context("dashboard provider not mounted")?,
    )?)?;
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .context("no provider path")?;
    let dashboard = grafana
        .iter()
        .find(|(target, _)| target.starts_with(path) && target.ends_with(".json"))
        .with_context(|| format!("no dashboard mounted under {path}"))?;
    ensure!(
        dashboard.1.canonicalize()? == workspace_root().join("config/grafana/sluice.json"),
        "the dashboard mounted is not config/grafana/sluice.json"
    );
    Ok(())
}
