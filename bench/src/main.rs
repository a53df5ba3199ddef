//! `sluice-loadgen`: an OTLP trace load generator for benchmarking Sluice against other collectors.
//!
//! It pre-encodes a small pool of requests, drives them over a few connections (paced or flat
//! out), and reports throughput, latency and — given `--server-pid` — the server's CPU time and
//! memory over exactly the measured window. Exit status: 0 if any request succeeded, 1 if none
//! did, 2 on a usage or setup error.

mod cli;
mod payload;
mod procstat;
mod report;
mod response;
mod stats;
mod tls;
mod transport;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;
use clap::Parser;
use http::{HeaderValue, Uri};
use rustls_pki_types::ServerName;
use tokio::time::{Instant, MissedTickBehavior};

use crate::cli::{Args, Protocol};
use crate::payload::Pool;
use crate::report::{Report, Setup, Usage};
use crate::stats::Stats;
use crate::transport::{Client, Target};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sluice-loadgen: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) if report.stats.ok > 0 => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("sluice-loadgen: no request succeeded");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("sluice-loadgen: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// When to measure and when to stop; shared by all clients.
struct Plan {
    measure_start: Instant,
    end: Instant,
    /// Time between two requests of one client, when paced.
    period: Option<Duration>,
    concurrency: u32,
    requests: Option<u64>,
    claimed: AtomicU64,
    /// `X-Scope-OrgID` values to cycle through (`--tenants`); empty: none sent.
    tenants: Vec<HeaderValue>,
}

async fn run(args: Args) -> Result<Report> {
    validate(&args)?;
    // One crypto provider for the process, installed before any TLS config is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target = Arc::new(target(&args).await?);
    if let Some(pid) = args.server_pid {
        procstat::cpu_seconds(&pid.to_string()).context("--server-pid")?;
    }
    let pool = Arc::new(Pool::build(
        args.protocol,
        args.pool,
        args.spans,
        args.attributes,
        args.gzip,
    ));

    let now = Instant::now();
    let measure_start = now + Duration::from_secs_f64(args.warmup);
    let plan = Arc::new(Plan {
        measure_start,
        end: measure_start + Duration::from_secs_f64(args.duration),
        period: args.rate.map(|rate| {
            Duration::from_secs_f64(args.concurrency as f64 * args.spans as f64 / rate)
        }),
        concurrency: args.concurrency as u32,
        requests: args.requests,
        claimed: AtomicU64::new(0),
        tenants: (0..args.tenants.unwrap_or(0))
            .map(|k| HeaderValue::from_str(&format!("tenant-{k}")))
            .collect::<Result<_, _>>()?,
    });
    let workers: Vec<_> = (0..args.concurrency)
        .map(|id| tokio::spawn(client_loop(id, target.clone(), pool.clone(), plan.clone())))
        .collect();

    // Resource use over exactly the measured window.
    tokio::time::sleep_until(measure_start).await;
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let server_start = server_pid.as_deref().map(procstat::cpu_seconds);
    let sampler = server_pid.clone().map(procstat::RssSampler::start);
    let loadgen_start = procstat::cpu_seconds("self").ok();

    let mut stats = Stats::new();
    for worker in workers {
        stats.merge(worker.await.context("client task failed")?);
    }
    let elapsed = measure_start.elapsed();
    let loadgen = loadgen_start.and_then(|start| {
        let end = procstat::cpu_seconds("self").ok()?;
        Some(Usage {
            cpu_s: end - start,
            peak_rss_kib: None,
            vmhwm_kib: None,
        })
    });
    let server = match (server_pid, server_start, sampler) {
        (Some(pid), Some(start), Some(sampler)) => {
            let peak = sampler.finish().await;
            Some(server_usage(&pid, start, peak))
        }
        _ => None,
    };

    let report = Report {
        setup: Setup {
            label: args.label.clone(),
            protocol: args.protocol.as_str(),
            endpoint: args.endpoint.clone(),
            tls: target.tls.is_some(),
            mtls: args.client_cert.is_some(),
            basic_auth: args.basic_auth.is_some(),
            gzip: args.gzip,
            concurrency: args.concurrency,
            spans_per_request: pool.spans,
            attributes_per_span: args.attributes,
            rate: args.rate,
            warmup_s: args.warmup,
            request_bytes: pool.encoded_bytes,
            wire_bytes: pool.wire_bytes,
        },
        elapsed,
        stats,
        server_pid: args.server_pid,
        server,
        loadgen,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.human());
    }
    Ok(report)
}

fn server_usage(pid: &str, start: Result<f64>, peak_rss_kib: u64) -> Result<Usage, String> {
    let start = start.map_err(|e| format!("{e:#}"))?;
    let end = procstat::cpu_seconds(pid)
        .map_err(|e| format!("server process {pid} gone before the end of the run: {e:#}"))?;
    Ok(Usage {
        cpu_s: end - start,
        peak_rss_kib: Some(peak_rss_kib),
        vmhwm_kib: procstat::status_kib(pid, "VmHWM").ok(),
    })
}

/// One client: send until the plan says stop, recording only requests scheduled in the window.
async fn client_loop(id: usize, target: Arc<Target>, pool: Arc<Pool>, plan: Arc<Plan>) -> Stats {
    let mut client = Client::new(target);
    let mut stats = Stats::new();
    // Clients start their pace staggered so requests are spread evenly.
    let mut pacer = plan.period.map(|period| {
        let offset = period * id as u32 / plan.concurrency;
        let mut pacer = tokio::time::interval_at(Instant::now() + offset, period);
        pacer.set_missed_tick_behavior(MissedTickBehavior::Burst);
        pacer
    });
    let mut next = id;
    loop {
        // Latency counts from when a request was due, so a slow server cannot hide its backlog.
        let due = match pacer.as_mut() {
            Some(pacer) => match tokio::time::timeout_at(plan.end, pacer.tick()).await {
                Ok(due) => due,
                Err(_) => break,
            },
            None => Instant::now(),
        };
        if due >= plan.end {
            break;
        }
        let measured = due >= plan.measure_start;
        if measured
            && let Some(limit) = plan.requests
            && plan.claimed.fetch_add(1, Ordering::Relaxed) >= limit
        {
            break;
        }
        // Clients interleave (client `id` sends requests id, id + concurrency, ...), so together
        // they cycle over the pool, and over every tenant, each request sent once per cycle (with
        // new trace ids in every cycle: see `Pool::body`).
        let body = pool.body(next);
        let tenant = (!plan.tenants.is_empty()).then(|| &plan.tenants[next % plan.tenants.len()]);
        next += plan.concurrency as usize;
        let outcome = client.send(body, tenant).await;
        let unreachable = outcome.is_transport_failure();
        if measured {
            stats.record(outcome, due.elapsed(), pool.spans);
        }
        if unreachable {
            // Don't spin on a server that is down or refuses our connections.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stats
}

fn validate(args: &Args) -> Result<()> {
    if args.tenants == Some(0) {
        bail!("--tenants must be at least 1");
    }
    if args.concurrency == 0 || args.spans == 0 || args.pool == 0 {
        bail!("--concurrency, --spans and --pool must be at least 1");
    }
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        bail!("--duration must be in (0, 3600] seconds: every run is bounded");
    }
    if !(0.0..=600.0).contains(&args.warmup) {
        bail!("--warmup must be in [0, 600] seconds");
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        bail!("--rate must be a positive number of spans per second");
    }
    if args.timeout.is_nan() || args.timeout <= 0.0 {
        bail!("--timeout must be positive");
    }
    Ok(())
}

/// Resolves the endpoint, refuses off-machine addresses, and prepares TLS and headers.
async fn target(args: &Args) -> Result<Target> {
    let text = if args.endpoint.contains("://") {
        args.endpoint.clone()
    } else {
        format!("http://{}", args.endpoint)
    };
    let uri: Uri = text
        .parse()
        .with_context(|| format!("--endpoint {}: not a URL", args.endpoint))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => bail!("--endpoint {}: scheme must be http or https", args.endpoint),
    };
    let host = uri
        .host()
        .context("--endpoint has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = uri.port_u16().unwrap_or(match args.protocol {
        Protocol::Grpc => 4317,
        Protocol::Http => 4318,
    });
    let addr = resolve(&host, port, args.allow_non_loopback).await?;

    let tls = match (&args.tls_ca, https) {
        (Some(ca), _) => {
            let alpn: &[u8] = match args.protocol {
                Protocol::Grpc => b"h2",
                Protocol::Http => b"http/1.1",
            };
            let identity = args.client_cert.as_deref().zip(args.client_key.as_deref());
            let config = tls::client_config(ca, identity, alpn)?;
            let name = args.server_name.clone().unwrap_or_else(|| host.clone());
            let name = ServerName::try_from(name.clone())
                .with_context(|| format!("{name:?} is not a valid TLS server name"))?;
            Some((tokio_rustls::TlsConnector::from(config), name))
        }
        (None, true) => bail!("an https endpoint needs --tls-ca FILE (system roots are not used)"),
        (None, false) if args.client_cert.is_some() => {
            bail!("--client-cert needs TLS: add --tls-ca FILE")
        }
        (None, false) => None,
    };
    let authorization = match &args.basic_auth {
        Some(credentials) => {
            if !credentials.contains(':') {
                bail!("--basic-auth must be USER:PASS");
            }
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            Some(HeaderValue::from_str(&format!("Basic {encoded}"))?)
        }
        None => None,
    };
    Target::new(
        args.protocol,
        addr,
        &uri,
        tls,
        args.gzip,
        authorization,
        Duration::from_secs_f64(args.timeout),
    )
}

async fn resolve(host: &str, port: u16, allow_non_loopback: bool) -> Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    // Prefer IPv4: test servers here listen on 127.0.0.1.
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .with_context(|| format!("{host} resolves to no address"))?;
    if !allow_non_loopback && !addr.ip().is_loopback() {
        bail!(
            "{host} ({}) is not a loopback address; pass --allow-non-loopback to load it",
            addr.ip()
        );
    }
    Ok(addr)
}
