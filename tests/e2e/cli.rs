//! The `sluice` binary's commands: `validate` (exit 0 on a good config, 64 with every problem
//! printed on a bad one) and `certs` (a usable certificate set, keys readable only by the owner).

use std::os::unix::fs::PermissionsExt;

use anyhow::{Result, ensure};
use serde_json::json;
use sluice_tests::certs::client_config;
use sluice_tests::process::{run, run_in, workspace_root};
use sluice_tests::{Export, Protocol, Setup, Via};

#[tokio::test(flavor = "multi_thread")]
async fn validate_accepts_every_shipped_environment() -> Result<()> {
    // Every shipped bundle (base.yaml + the overlay), guests' init included (OTTL statements
    // are checked), selected by --env or by SLUICE_ENV, and mtls.yaml on its own.
    for env in ["dev", "staging", "prod"] {
        let (status, stdout, stderr) = run(&["validate", "--env", env]).await?;
        ensure!(
            status.code() == Some(0) && stdout.contains(&format!("valid (environment {env})")),
            "validate --env {env}: {status}\n{stdout}{stderr}"
        );
        ensure!(
            stdout.contains("config/base.yaml") && stdout.contains(&format!("config/{env}.yaml")),
            "validate --env {env} did not read base.yaml and {env}.yaml: {stdout}"
        );
    }
    let (status, stdout, stderr) = run_in(
        &workspace_root(),
        &["validate"],
        &[("SLUICE_ENV", "staging")],
    )
    .await?;
    ensure!(
        status.code() == Some(0) && stdout.contains("valid (environment staging)"),
        "SLUICE_ENV=staging sluice validate: {status}\n{stdout}{stderr}"
    );
    let mtls = workspace_root().join("config/mtls.yaml");
    let (status, stdout, stderr) = run(&["validate", "--config", &mtls.to_string_lossy()]).await?;
    ensure!(
        status.code() == Some(0),
        "validate config/mtls.yaml: {status}\n{stdout}{stderr}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn env_with_explicit_configs_only_names_the_environment() -> Result<()> {
    let mtls = workspace_root().join("config/mtls.yaml");
    let (status, stdout, stderr) = run(&[
        "validate",
        "--env",
        "prod",
        "--config",
        &mtls.to_string_lossy(),
    ])
    .await?;
    ensure!(
        status.code() == Some(0)
            && stdout.contains("valid (environment prod)")
            && !stdout.contains("base.yaml"),
        "validate --env prod --config mtls.yaml: {status}\n{stdout}{stderr}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_environment_lists_the_available_ones() -> Result<()> {
    for args in [
        &["validate", "--env", "qa"][..],
        &["--env", "qa"][..],
        &["--env", "../config/dev"][..],
    ] {
        let (status, stdout, stderr) = run(args).await?;
        ensure!(
            status.code() == Some(64),
            "sluice {args:?}: {status}\n{stdout}{stderr}"
        );
        ensure!(
            stderr.lines().count() == 1,
            "sluice {args:?}: not one line:\n{stderr}"
        );
    }
    let (_, _, stderr) = run(&["validate", "--env", "qa"]).await?;
    ensure!(
        stderr.contains("environment \"qa\" not found")
            && stderr.contains("available: dev, mtls, prod, staging"),
        "{stderr}"
    );
    // Another config directory, as the image's /etc/sluice.
    let dir = tempfile::tempdir()?;
    let (status, _, stderr) = run_in(
        dir.path(),
        &["--env", "dev"],
        &[("SLUICE_CONFIG_DIR", "/nonexistent")],
    )
    .await?;
    ensure!(
        status.code() == Some(64) && stderr.contains("cannot list /nonexistent"),
        "{status}: {stderr}"
    );
    let (status, _, stderr) = run_in(dir.path(), &[], &[]).await?;
    ensure!(
        status.code() == Some(64) && stderr.contains("pass --env NAME"),
        "no config, no env: {status}: {stderr}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_reports_every_problem_and_exits_64() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:4318\n        colour: blue\n\
         exporters:\n  debug:\n    verbosity: loud\n\
         service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug, otlp/nowhere]\n",
    )?;
    let (status, stdout, stderr) =
        run(&["validate", "--config", &broken.to_string_lossy()]).await?;
    let printed = format!("{stdout}{stderr}");
    ensure!(
        status.code() == Some(64),
        "validate on a broken file: {status}\n{printed}"
    );
    for problem in ["colour", "loud", "otlp/nowhere"] {
        ensure!(
            printed.contains(problem),
            "the problem with {problem:?} was not reported:\n{printed}"
        );
    }
    ensure!(
        printed.contains("broken.yaml"),
        "problems do not name the file:\n{printed}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn certs_writes_a_working_set_with_private_keys() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("certs");
    let args = [
        "certs",
        "--out",
        &out.to_string_lossy(),
        "--hosts",
        "otel-collector,localhost,127.0.0.1",
        "--days",
        "2",
    ];
    let (status, stdout, stderr) = run(&args).await?;
    ensure!(status.success(), "sluice certs: {status}\n{stdout}{stderr}");
    for name in [
        "ca.crt",
        "server.crt",
        "client.crt",
        "ca.key",
        "server.key",
        "client.key",
    ] {
        let mode = std::fs::metadata(out.join(name))?.permissions().mode() & 0o777;
        if name.ends_with(".key") {
            ensure!(mode == 0o600, "{name} has mode {mode:o}, want 600");
        }
    }

    // The set works for mTLS with Sluice.
    let mut setup = Setup::new()?;
    setup.tls(json!({
        "cert_file": out.join("server.crt"),
        "key_file": out.join("server.key"),
        "client_ca_file": out.join("ca.crt"),
    }));
    let sluice = setup.start().await?;
    let ca = std::fs::read_to_string(out.join("ca.crt"))?;
    let identity = Some((out.join("client.crt"), out.join("client.key")));
    for protocol in [Protocol::Grpc, Protocol::Http] {
        let export = Export::new();
        let client = client_config(&ca, identity.clone(), protocol.alpn())?;
        Via::tls(protocol, client).all(&sluice, &export).await?;
        export.arrived_in(&sluice).await?;
    }
    sluice.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_checks_ottl_statements_in_the_guest_and_accepts_seed_000() -> Result<()> {
    let seed = workspace_root().join("tests/fixtures/seed-000/add-tags-collector-config.yaml");
    let (status, stdout, stderr) = run(&["validate", "--config", &seed.to_string_lossy()]).await?;
    ensure!(
        status.code() == Some(0),
        "seed 000: {status}\n{stdout}{stderr}"
    );
    ensure!(
        stderr.contains("context: datapoint"),
        "the seed's metric-context hint is missing: {stderr}"
    );

    let dir = tempfile::tempdir()?;
    let broken = dir.path().join("broken-ottl.yaml");
    std::fs::write(
        &broken,
        "receivers: {otlp: {protocols: {http: }}}\n\
         processors: {transform: {trace_statements: ['set(attributes[\"a\"] \"b\")']}}\n\
         exporters: {debug: }\n\
         service: {pipelines: {traces: {receivers: [otlp], processors: [transform], exporters: [debug]}}}\n",
    )?;
    let (status, stdout, stderr) =
        run(&["validate", "--config", &broken.to_string_lossy()]).await?;
    ensure!(
        status.code() == Some(64),
        "broken OTTL must exit 64: {status}\n{stdout}{stderr}"
    );
    ensure!(
        stderr.contains("processors.transform") && stderr.contains("column"),
        "the error must name the processor and the column: {stderr}"
    );
    Ok(())
}
