//! Command-line arguments of `sluice-loadgen`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Send OTLP traces to a collector and report throughput, latency and the server's CPU and memory.
///
/// Every run is bounded: it stops after `--duration` seconds, or earlier once `--requests`
/// measured requests were sent.
#[derive(Debug, Parser)]
#[command(name = "sluice-loadgen", version)]
pub struct Args {
    /// OTLP transport.
    #[arg(long, value_enum, default_value_t = Protocol::Http)]
    pub protocol: Protocol,

    /// Where to send: `http://127.0.0.1:4318` (HTTP; the path defaults to `/v1/traces`) or
    /// `http://127.0.0.1:4317` (gRPC). `https://` or `--tls-ca` turns TLS on.
    #[arg(long)]
    pub endpoint: String,

    /// PEM CA bundle that the server certificate must chain to (turns TLS on).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// PEM client certificate chain for mTLS (with `--client-key`).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,

    /// PEM private key of the client certificate.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,

    /// Name to verify the server certificate against (default: the endpoint's host).
    #[arg(long)]
    pub server_name: Option<String>,

    /// Send `Authorization: Basic` with these credentials.
    #[arg(long, value_name = "USER:PASS")]
    pub basic_auth: Option<String>,

    /// gzip request bodies (compressed once, before the run).
    #[arg(long)]
    pub gzip: bool,

    /// Offered load in spans per second, paced evenly over the clients. Default: flat out.
    #[arg(long, value_name = "SPANS_PER_SEC")]
    pub rate: Option<f64>,

    /// Clients, each with its own connection and one request in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,

    /// Spans per request.
    #[arg(long, default_value_t = 1000)]
    pub spans: usize,

    /// String attributes per span (values of about 20 bytes).
    #[arg(long, default_value_t = 10)]
    pub attributes: usize,

    /// Measured run time in seconds (also the upper bound when `--requests` is given).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Stop after this many measured requests.
    #[arg(long)]
    pub requests: Option<u64>,

    /// Seconds of load before measuring starts (not counted in any figure).
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,

    /// Distinct pre-encoded requests (different trace and span ids) to cycle through.
    #[arg(long, default_value_t = 16)]
    pub pool: usize,

    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,

    /// Process id of the server: report its CPU time and resident memory over the run.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,

    /// Print one JSON line instead of the human report.
    #[arg(long)]
    pub json: bool,

    /// Spread requests over this many tenants: each request carries `X-Scope-OrgID:
    /// tenant-<k>`, k cycling over 0..N (requests of one client cycle too).
    #[arg(long, value_name = "N")]
    pub tenants: Option<usize>,

    /// Free-form label copied into the report (e.g. "sluice http gzip").
    #[arg(long)]
    pub label: Option<String>,

    /// Allow endpoints that are not on this machine's loopback interface.
    #[arg(long)]
    pub allow_non_loopback: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    Grpc,
    Http,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http",
        }
    }
}
