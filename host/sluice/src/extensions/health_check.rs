//! The `health_check` extension, answering like the Collector's: 200
//! `{"status":"Server available","upSince":…,"uptime":…}` while serving, 503 with
//! `"Server not available"` before Sluice is ready and while it drains.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sluice_config::HealthCheckSettings;

use crate::app::server::{HttpServer, ServeError};

const STARTING: u8 = 0;
const READY: u8 = 1;
const DRAINING: u8 = 2;

/// Shared readiness state.
#[derive(Clone)]
pub struct Health {
    state: Arc<AtomicU8>,
    since: SystemTime,
    started: Instant,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            state: Arc::new(AtomicU8::new(STARTING)),
            since: SystemTime::now(),
            started: Instant::now(),
        }
    }
}

impl Health {
    pub fn set_ready(&self) {
        self.state.store(READY, Ordering::SeqCst);
    }

    pub fn set_draining(&self) {
        self.state.store(DRAINING, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.state.load(Ordering::SeqCst) == READY
    }
}

pub async fn start(
    owner: &str,
    settings: &HealthCheckSettings,
    health: Health,
) -> Result<HttpServer, ServeError> {
    let path = if settings.path.is_empty() {
        "/"
    } else {
        settings.path.as_str()
    };
    let router = Router::new().route(path, get(status)).with_state(health);
    HttpServer::bind(owner, &settings.endpoint, router).await
}

async fn status(State(health): State<Health>) -> (StatusCode, Json<serde_json::Value>) {
    let (code, status) = if health.is_ready() {
        (StatusCode::OK, "Server available")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Server not available")
    };
    let body = serde_json::json!({
        "status": status,
        "upSince": humantime::format_rfc3339_nanos(health.since).to_string(),
        "uptime": format!("{:.6}s", health.started.elapsed().as_secs_f64()),
    });
    (code, Json(body))
}
