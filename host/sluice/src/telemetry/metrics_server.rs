//! The self-metrics endpoint (`service.telemetry.metrics`, default `localhost:8888`): Prometheus
//! text at `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use sluice_pipeline::metrics::Metrics;

use super::process::ProcessMetrics;
use crate::app::server::{HttpServer, ServeError};

#[derive(Clone)]
struct Scrape {
    metrics: Metrics,
    process: Arc<ProcessMetrics>,
}

pub async fn start(endpoint: &str, metrics: Metrics) -> Result<HttpServer, ServeError> {
    let state = Scrape {
        process: ProcessMetrics::register(&metrics),
        metrics,
    };
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(state);
    HttpServer::bind("service.telemetry.metrics", endpoint, router).await
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    s.process.refresh();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        s.metrics.encode(),
    )
}

/// The address a server listens on, for logs and tests.
pub fn describe(addr: SocketAddr) -> String {
    format!("http://{addr}/metrics")
}
