//! What each subcommand does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::app::App;
use crate::app::signals::{Request, Signals};
use crate::cli::{CertsArgs, HealthArgs, LogFormat, LogOutput};
use crate::environment::Selection;

/// `EX_USAGE` from sysexits.h: the config is invalid.
pub const EXIT_INVALID_CONFIG: u8 = 64;
/// How long a shutdown may take before Sluice gives up waiting for in-flight work.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// `--config` files and `--env` resolved to what to load, or exit 64 with one line.
pub fn select(files: &[PathBuf], env: Option<&str>, dir: &Path) -> Result<Selection, ExitCode> {
    crate::environment::select(files, env, dir).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID_CONFIG)
    })
}

/// Load the selected files and stamp the environment on the config.
pub fn load(selection: &Selection) -> Result<sluice_config::Config, sluice_config::ConfigErrors> {
    let mut config = sluice_config::load(&selection.files)?;
    config.environment.clone_from(&selection.environment);
    Ok(config)
}

/// `sluice validate`: print every problem, exit 64 if any.
pub fn validate(selection: &Selection) -> ExitCode {
    let files = &selection.files;
    match load(selection) {
        Ok(config) => {
            // WebAssembly processors validate their own config (OTTL statements...) in `init`.
            let (problems, warnings) = crate::app::wasm::WasmProcessors::check(&config);
            for warning in config.warnings.iter().chain(&warnings) {
                eprintln!("warning: {warning}");
            }
            if !problems.is_empty() {
                for problem in &problems {
                    eprintln!("{}: {problem}", join(files));
                }
                eprintln!("{}: {} problem(s) found", join(files), problems.len());
                return ExitCode::from(EXIT_INVALID_CONFIG);
            }
            match &selection.environment {
                Some(env) => println!("{}: valid (environment {env})", join(files)),
                None => println!("{}: valid", join(files)),
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{}: {} problem(s) found", join(files), errors.0.len());
            ExitCode::from(EXIT_INVALID_CONFIG)
        }
    }
}

/// `sluice certs`.
pub fn certs(args: &CertsArgs) -> ExitCode {
    sluice_tls::install_crypto_provider();
    let existing = args.out.join("ca.crt");
    if existing.exists() && !args.force {
        eprintln!(
            "{} already exists: keeping the certificates in {} (use --force to replace them)",
            existing.display(),
            args.out.display()
        );
        return ExitCode::SUCCESS;
    }
    match sluice_tls::certgen::write_dev_set(&args.out, &args.hosts, args.days, &args.client_cn) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `sluice health`: exit 0 when the health_check extension answers 200, 1 otherwise, with
/// one line saying why.
pub fn health(args: &HealthArgs) -> ExitCode {
    let endpoint = args.endpoint.clone().unwrap_or_else(|| {
        crate::health::default_endpoint(std::env::var("SLUICE_HEALTH_ENDPOINT").ok().as_deref())
    });
    let result = crate::health::Target::parse(&endpoint)
        .and_then(|target| crate::health::check(&target, args.timeout));
    match result {
        Ok(status) => {
            println!("healthy: {endpoint} ({status})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run Sluice until SIGTERM/SIGINT, then drain.
pub fn run(
    selection: &Selection,
    log_format: Option<LogFormat>,
    log_output: LogOutput,
    log_level: Option<&str>,
) -> ExitCode {
    let files = &selection.files;
    let config = match load(selection) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{}: invalid config, not starting", join(files));
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    crate::telemetry::logging::init(
        log_format,
        log_output,
        log_level,
        &config.service.telemetry.logs,
    );
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        environment = selection.environment.as_deref().unwrap_or("-"),
        files = %join(files),
        "starting Sluice {}",
        env!("CARGO_PKG_VERSION")
    );
    let environment = selection.environment.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(RUNTIME_THREAD_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let app = match App::start(config).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let mut app = app;
        let mut signals = Signals::new();
        while signals.next().await == Request::Reload {
            reload(&mut app, environment.as_deref());
        }
        app.shutdown(SHUTDOWN_GRACE).await;
        ExitCode::SUCCESS
    })
}

/// Stack of each runtime thread. Guest calls may run on the async workers (`sluice_wasm`'s
/// `dispatch`), and the wasm stack a call may use (512 KiB, `max_wasm_stack`) comes on top
/// of the host's frames below it: twice Tokio's default 2 MiB leaves room to spare. Address
/// space only: untouched stack pages cost no memory.
const RUNTIME_THREAD_STACK: usize = 4 << 20;

/// SIGHUP: read the config files again; an invalid config changes nothing (the Collector
/// would exit; Sluice keeps running what it runs).
fn reload(app: &mut App, environment: Option<&str>) {
    let selection = Selection {
        files: app.config_sources().to_vec(),
        environment: environment.map(str::to_owned),
    };
    match load(&selection) {
        Ok(config) => {
            // Compiling a component takes tens of milliseconds: keep other tasks moving.
            let swapped = tokio::task::block_in_place(|| app.reload(config));
            tracing::info!(swapped = ?swapped.iter().map(ToString::to_string).collect::<Vec<_>>(), "config reloaded");
        }
        Err(errors) => {
            tracing::error!("config reload failed, keeping the running config:\n{errors}");
        }
    }
}

fn join(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| Path::display(f).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
