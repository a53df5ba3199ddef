//! Delivery with retries, as the Collector's `retry_on_failure` (exporterhelper's retry
//! sender): exponential back-off with jitter for retryable failures, none for permanent ones.
//!
//! - **Back-off.** The first wait is `initial_interval`, randomised by ±`randomization_factor`;
//!   each later one grows by `multiplier` up to `max_interval` (before randomisation, so a wait
//!   can reach `max_interval × (1 + randomization_factor)`, as in the Collector).
//! - **Server hints.** HTTP `Retry-After` (seconds or an HTTP-date) and gRPC
//!   `google.rpc.RetryInfo` make the next wait `max(back-off, hint)`. The hint is used as is,
//!   not capped by `max_interval` (the Collector does the same: the server knows best when it
//!   can take data again); `max_elapsed_time` still bounds the total.
//! - **Giving up.** When the next wait would end after `max_elapsed_time` (measured from the
//!   first attempt; 0 = never give up), the batch fails now instead of sleeping in vain.
//! - **Shutdown.** The exporter's `shutdown` ends a wait at once; the batch is then refused (not
//!   failed) so that the sending queue in front keeps it. An attempt already on the wire is
//!   not cut short: it ends by itself within the exporter's `timeout`.
//! - **Accounting.** Delivered items count as sent (minus those a partial success rejected,
//!   which count as failed); each retry counts the batch's items as retried; a permanent
//!   failure or giving up counts them as failed. A refusal at shutdown counts nothing.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use sluice_config::{RetrySettings, Signal};
use sluice_pipeline::ConsumeError;
use sluice_pipeline::metrics::ExporterMetrics;
use tokio_util::sync::CancellationToken;

/// Whether a failed attempt may succeed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Try again; `after` is the server's hint (`Retry-After`, `RetryInfo`).
    Retryable { after: Option<Duration> },
    /// Never retried. `invalid`: the data itself was refused (HTTP 400, gRPC `InvalidArgument`).
    Permanent { invalid: bool },
}

/// One failed attempt.
#[derive(Debug, Clone)]
pub(crate) struct SendError {
    pub verdict: Verdict,
    /// What failed, short: `HTTP 503 Service Unavailable`, `gRPC Unavailable`, `connection`.
    pub status: String,
    /// The server's message, or the error chain of a connection failure.
    pub message: String,
}

impl SendError {
    pub(crate) fn retryable(
        status: impl Into<String>,
        message: impl Into<String>,
        after: Option<Duration>,
    ) -> Self {
        SendError {
            verdict: Verdict::Retryable { after },
            status: status.into(),
            message: message.into(),
        }
    }

    pub(crate) fn permanent(
        status: impl Into<String>,
        message: impl Into<String>,
        invalid: bool,
    ) -> Self {
        SendError {
            verdict: Verdict::Permanent { invalid },
            status: status.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.status)
        } else {
            write!(f, "{}: {}", self.status, self.message)
        }
    }
}

/// A successful attempt; `rejected` items were refused by a partial success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub rejected: u64,
    pub message: String,
}

impl Delivered {
    /// Everything was accepted.
    pub(crate) fn full() -> Self {
        Delivered::default()
    }

    /// An OTLP partial success (`rejected_<items>`, `error_message`).
    pub(crate) fn partial(rejected: i64, message: String) -> Self {
        Delivered {
            rejected: u64::try_from(rejected).unwrap_or(0),
            message,
        }
    }
}

/// The waits of one batch, as cenkalti/backoff's `ExponentialBackOff` (which the Collector uses).
#[derive(Debug)]
pub(crate) struct Backoff {
    current: Duration,
    randomization: f64,
    multiplier: f64,
    max_interval: Duration,
}

impl Backoff {
    pub(crate) fn new(settings: &RetrySettings) -> Self {
        let randomization = if settings.randomization_factor.is_finite() {
            settings.randomization_factor.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let multiplier = if settings.multiplier.is_finite() {
            settings.multiplier.max(1.0)
        } else {
            1.0
        };
        Backoff {
            current: settings.initial_interval.min(settings.max_interval),
            randomization,
            multiplier,
            max_interval: settings.max_interval,
        }
    }

    /// The next wait; grows the interval for the one after.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let current = self.current.as_secs_f64();
        let delta = self.randomization * current;
        let wait = current - delta + fastrand::f64() * 2.0 * delta;
        let grown =
            Duration::try_from_secs_f64(current * self.multiplier).unwrap_or(self.max_interval);
        self.current = grown.min(self.max_interval);
        Duration::try_from_secs_f64(wait.max(0.0)).unwrap_or(self.max_interval)
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the past is 0.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Sends batches with retries for one exporter, and counts the outcome.
pub(crate) struct Delivery {
    exporter: String,
    retry: RetrySettings,
    metrics: ExporterMetrics,
    stop: CancellationToken,
}

impl Delivery {
    pub(crate) fn new(exporter: &str, retry: &RetrySettings, metrics: ExporterMetrics) -> Self {
        Delivery {
            exporter: exporter.to_owned(),
            retry: retry.clone(),
            metrics,
            stop: CancellationToken::new(),
        }
    }

    /// [`Delivery::new`], and start what runs in the background until shutdown: the TLS
    /// files' reloading and the bearer token file's.
    pub(crate) fn start(
        exporter: &str,
        retry: &RetrySettings,
        metrics: ExporterMetrics,
        tls: Option<&std::sync::Arc<crate::client::tls::TlsClient>>,
        auth: Option<&crate::ClientAuth>,
    ) -> Self {
        let delivery = Delivery::new(exporter, retry, metrics);
        if let Some(tls) = tls {
            tls.start_reloading(delivery.stop_token());
        }
        if let Some(auth) = auth {
            auth.start();
        }
        delivery
    }

    /// The exporter id (`otlp/backend`).
    pub(crate) fn exporter(&self) -> &str {
        &self.exporter
    }

    /// Cancelled at shutdown: background tasks (reloads) stop on it.
    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.stop.child_token()
    }

    /// Ends every retry wait now; later deliveries are refused.
    pub(crate) fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Runs `attempt` until it succeeds, fails permanently, runs out of time, or shutdown.
    /// `items` is the batch's item count for the metrics and logs.
    pub(crate) async fn deliver<F, Fut>(
        &self,
        signal: Signal,
        items: usize,
        mut attempt: F,
    ) -> Result<(), ConsumeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Delivered, SendError>>,
    {
        if self.stop.is_cancelled() {
            return Err(ConsumeError::refused(format!(
                "exporter {} is shut down",
                self.exporter
            )));
        }
        let started = Instant::now();
        let mut backoff = Backoff::new(&self.retry);
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let error = match attempt().await {
                Ok(delivered) => {
                    self.delivered(signal, items, delivered);
                    return Ok(());
                }
                Err(error) => error,
            };
            let after = match error.verdict {
                Verdict::Permanent { invalid } => {
                    return Err(self.failed(
                        signal,
                        items,
                        &error,
                        "the server refused the data permanently; dropping it without retrying",
                        invalid,
                    ));
                }
                Verdict::Retryable { after } => after,
            };
            if !self.retry.enabled {
                return Err(self.failed(
                    signal,
                    items,
                    &error,
                    "export failed and retry_on_failure is disabled; dropping the data",
                    false,
                ));
            }
            if self.stop.is_cancelled() {
                return Err(self.refused(signal, &error));
            }
            let wait = backoff.next_wait().max(after.unwrap_or_default());
            let limit = self.retry.max_elapsed_time;
            if !limit.is_zero() && started.elapsed().saturating_add(wait) > limit {
                let what = format!(
                    "export failed {attempts} times in {}; retry_on_failure.max_elapsed_time ({}) \
                     would pass before the next attempt; dropping the data",
                    humantime::format_duration(round_ms(started.elapsed())),
                    humantime::format_duration(limit),
                );
                return Err(self.failed(signal, items, &error, &what, false));
            }
            tracing::warn!(
                exporter = self.exporter.as_str(),
                %signal,
                items,
                attempt = attempts,
                status = error.status.as_str(),
                error = error.message.as_str(),
                retry_in = %humantime::format_duration(round_ms(wait)),
                "export failed; will retry"
            );
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.stop.cancelled() => return Err(self.refused(signal, &error)),
            }
            self.metrics.retried(signal, items);
        }
    }

    fn delivered(&self, signal: Signal, items: usize, delivered: Delivered) {
        let rejected = usize::try_from(delivered.rejected)
            .unwrap_or(usize::MAX)
            .min(items);
        self.metrics.sent(signal, items - rejected);
        if rejected == 0 && !delivered.message.is_empty() {
            tracing::warn!(
                exporter = self.exporter.as_str(),
                %signal,
                items,
                message = delivered.message.as_str(),
                "the server accepted the data with a warning"
            );
        } else if rejected > 0 {
            self.metrics.failed(signal, rejected);
            tracing::warn!(
                exporter = self.exporter.as_str(),
                %signal,
                items,
                rejected,
                message = delivered.message.as_str(),
                "partial success: the server rejected part of the data; the rejected items are \
                 counted as failed and not retried"
            );
        }
    }

    /// Fails a batch that cannot even be attempted (no URL, cannot be encoded): counted as
    /// failed and logged at ERROR.
    pub(crate) fn fail_now(&self, signal: Signal, items: usize, error: &SendError) -> ConsumeError {
        let invalid = error.verdict == (Verdict::Permanent { invalid: true });
        self.failed(
            signal,
            items,
            error,
            "cannot export the data; dropping it",
            invalid,
        )
    }

    fn failed(
        &self,
        signal: Signal,
        items: usize,
        error: &SendError,
        what: &str,
        invalid: bool,
    ) -> ConsumeError {
        self.metrics.failed(signal, items);
        tracing::error!(
            exporter = self.exporter.as_str(),
            %signal,
            items,
            status = error.status.as_str(),
            error = error.message.as_str(),
            "{what}"
        );
        let text = format!(
            "exporter {}: {items} {signal} items not delivered: {error}",
            self.exporter
        );
        if invalid {
            ConsumeError::Invalid(text)
        } else {
            ConsumeError::Internal(text)
        }
    }

    fn refused(&self, signal: Signal, error: &SendError) -> ConsumeError {
        tracing::info!(
            exporter = self.exporter.as_str(),
            %signal,
            "shutting down while waiting to retry; the batch is handed back undelivered"
        );
        ConsumeError::refused(format!(
            "exporter {} is shutting down; {signal} not delivered yet (last error: {error})",
            self.exporter
        ))
    }
}

/// A duration without sub-millisecond noise, for logs.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(initial_ms: u64, factor: f64, multiplier: f64, max_ms: u64) -> RetrySettings {
        RetrySettings {
            initial_interval: Duration::from_millis(initial_ms),
            randomization_factor: factor,
            multiplier,
            max_interval: Duration::from_millis(max_ms),
            ..RetrySettings::default()
        }
    }

    #[test]
    fn backoff_grows_by_the_multiplier_up_to_max_interval() {
        let mut b = Backoff::new(&settings(100, 0.0, 2.0, 500));
        let waits: Vec<u128> = (0..6).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500, 500]);
    }

    #[test]
    fn backoff_jitter_stays_within_the_randomization_factor() {
        let mut b = Backoff::new(&settings(1000, 0.5, 1.0, 1000));
        for _ in 0..200 {
            let wait = b.next_wait();
            assert!(
                (Duration::from_millis(500)..=Duration::from_millis(1500)).contains(&wait),
                "{wait:?}"
            );
        }
    }

    #[test]
    fn backoff_survives_nonsense_settings() {
        let mut b = Backoff::new(&settings(10, f64::NAN, f64::INFINITY, 20));
        assert_eq!(b.next_wait(), Duration::from_millis(10));
        assert_eq!(b.next_wait(), Duration::from_millis(10));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        // RFC 9110's example date is 784111777 seconds after the epoch.
        let later = "Sun, 06 Nov 1994 08:49:47 GMT";
        assert_eq!(parse_retry_after(later, now), Some(Duration::from_secs(10)));
        let past = "Sun, 06 Nov 1994 08:49:27 GMT";
        assert_eq!(parse_retry_after(past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
