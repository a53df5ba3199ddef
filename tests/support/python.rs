//! The real OpenTelemetry Python SDK, in a virtualenv that `tests/python/setup-venv.sh` creates
//! (once per test run) in `<target>/py-venv`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::process::workspace_root;

/// Creating the venv downloads packages the first time.
const SETUP_TIMEOUT: Duration = Duration::from_secs(300);
/// One run of send.py: three exports, each with the SDK's own retry budget.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

static VENV: OnceCell<Result<PathBuf, String>> = OnceCell::const_new();

/// The venv's python, creating the venv if needed. `Ok(None)` when it cannot be created and
/// the run is not CI (`CI` unset): the caller skips loudly. In CI that is an error.
pub async fn interpreter() -> Result<Option<PathBuf>> {
    let venv = VENV.get_or_init(setup).await;
    match venv {
        Ok(venv) => Ok(Some(venv.join("bin").join("python"))),
        Err(reason) if std::env::var_os("CI").is_some() => Err(anyhow!(
            "the Python venv is required in CI (CI is set): {reason}"
        )),
        Err(reason) => {
            eprintln!(
                "\n*** SKIPPING Python SDK interop: cannot create the venv ({reason}). \
                 Run tests/python/setup-venv.sh by hand to see why; CI must not skip this. ***\n"
            );
            Ok(None)
        }
    }
}

async fn setup() -> Result<PathBuf, String> {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .ok_or("cannot find the target directory")?;
    let venv = target.join("py-venv");
    let script = workspace_root().join("tests/python/setup-venv.sh");
    let run = Command::new("sh")
        .arg(&script)
        .arg(&venv)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SETUP_TIMEOUT, run)
        .await
        .map_err(|_| format!("{} took over {SETUP_TIMEOUT:?}", script.display()))?
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(venv)
}

/// What one run of send.py did.
#[derive(Debug)]
pub struct Sent {
    pub success: bool,
    pub stderr: String,
}

/// Run `send.py name` with the SDK configured only by `env` (`OTEL_*` variables; inherited
/// `OTEL_*` variables are removed).
pub async fn send(python: &Path, name: &str, env: &[(&str, String)]) -> Result<Sent> {
    let script = workspace_root().join("tests/python/send.py");
    let mut command = Command::new(python);
    command.arg(&script).arg(name).kill_on_drop(true);
    // requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override the exporter's own CA file
    // (psf/requests#3829): remove them with any inherited OTEL_* setting.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("OTEL_") || name == "REQUESTS_CA_BUNDLE" || name == "CURL_CA_BUNDLE" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let output = tokio::time::timeout(SEND_TIMEOUT, command.output())
        .await
        .map_err(|_| anyhow!("send.py {name} did not finish within {SEND_TIMEOUT:?}"))?
        .context("running send.py")?;
    Ok(Sent {
        success: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
