//! Sluice as a separate process: the `sluice` binary from this target directory.
//!
//! The binary is built by `cargo build --workspace --all-targets` (the README's test command
//! builds before testing); `cargo test -p sluice-tests` alone does not build it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::process::{Child, Command};

use crate::http::{Client, Request};
use crate::{PATIENCE, poll};

/// The workspace root (for `config/*.yaml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// `<target>/<profile>/sluice`, next to the `deps/` directory this test binary runs from.
pub fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test binary is not in <target>/<profile>/deps")?;
    let binary = profile_dir.join(format!("sluice{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        bail!(
            "{} does not exist: build it before running these tests (cargo build --workspace --all-targets)",
            binary.display()
        );
    }
    Ok(binary)
}

/// `sluice ARGS…` to completion: (exit status, stdout, stderr).
pub async fn run(args: &[&str]) -> Result<(ExitStatus, String, String)> {
    let output = Command::new(binary()?)
        .args(args)
        .current_dir(workspace_root())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .map_err(|_| anyhow!("sluice {args:?} did not finish within {PATIENCE:?}"))??;
    Ok((
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// A port that was free a moment ago (bind port 0, release it).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `sluice --config FILE`, its log in a file. Killed when dropped.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Start `sluice --config config` with its stderr and stdout in `log`.
    pub fn spawn(config: &Path, log: &Path) -> Result<Process> {
        let file = std::fs::File::create(log)?;
        let child = Command::new(binary()?)
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()?;
        Ok(Process {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Wait (bounded) until the health check at `addr` answers 200.
    pub async fn wait_healthy(&mut self, addr: SocketAddr) -> Result<()> {
        let client = Client::plaintext(addr);
        let healthy = poll(PATIENCE, || async {
            let response = client.send(&Request::get("/")).await.ok()?;
            (response.status == 200).then_some(())
        })
        .await;
        if healthy.is_none() {
            let exited = self.child.try_wait()?;
            bail!(
                "Sluice never became healthy on {addr} (exit: {exited:?}); log:\n{}",
                self.log()
            );
        }
        Ok(())
    }

    /// Send SIGTERM.
    pub async fn terminate(&self) -> Result<()> {
        let pid = self.child.id().context("the process already exited")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(status.success(), "kill -TERM {pid} failed: {status}");
        Ok(())
    }

    /// SIGKILL (kill -9): no drain, no flush; wait for it to be gone.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Wait (at most `within`) for the process to exit.
    pub async fn wait(&mut self, within: Duration) -> Result<ExitStatus> {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => bail!(
                "Sluice did not exit within {within:?}; log:\n{}",
                self.log()
            ),
        }
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `sluice ARGS…` to completion in `dir` with extra environment variables: (exit status,
/// stdout, stderr).
pub async fn run_in(
    dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<(ExitStatus, String, String)> {
    let output = Command::new(binary()?)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .map_err(|_| anyhow!("sluice {args:?} did not finish within {PATIENCE:?}"))??;
    Ok((
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}
