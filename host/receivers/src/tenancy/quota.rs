//! Per-tenant quotas: a debt-model [`Bucket`] per limited rate (the items of each signal,
//! request bytes) and a count of requests in flight, for every tenant with a limit.
//!
//! One [`Limiter`] per `tenancy` extension, shared by every receiver that references it. A
//! request split into several tenants is admitted or refused as a whole: every tenant is
//! checked before anything is taken, under one lock held for a few arithmetic operations.
//!
//! Tenant ids come from clients, so the state is bounded: at most [`MAX_TENANTS`] tenants are
//! tracked. When a new one arrives at the bound, the tenants whose buckets are full again and
//! that have nothing in flight are forgotten (they behave exactly like new ones, so nothing
//! changes); if none is, the least recently seen tenant with nothing in flight is forgotten
//! (it gets full buckets when it comes back); if every tracked tenant has a request in flight,
//! the new tenant is refused. Tenants without any limit are never tracked.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use sluice_config::{TenancySettings, TenantLimits};
use sluice_pipeline::Signal;
pub(crate) use sluice_pipeline::metrics::MAX_TENANTS;

use super::bucket::Bucket;

/// What one tenant of a request asks for.
#[derive(Debug, Clone)]
pub(crate) struct Demand {
    pub tenant: Arc<str>,
    /// Spans, data points or log records of the request's signal.
    pub items: u64,
    /// Request bytes as received (a split request's bytes are shared out by encoded size).
    pub bytes: u64,
}

/// Which limit a refused request hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Over {
    /// The items rate of the request's signal (`field` is `spans_per_second`, ...).
    Items {
        field: &'static str,
        rate: u64,
        wait: Duration,
    },
    /// `bytes_per_second`.
    Bytes { rate: u64, wait: Duration },
    /// `max_concurrent_requests` requests are in flight.
    Concurrency { max: u32 },
    /// [`MAX_TENANTS`] tenants all have requests in flight.
    TooManyTenants,
}

/// A refused request: which tenant, which limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub tenant: Arc<str>,
    pub over: Over,
}

/// The quota state of one `tenancy` extension.
pub(crate) struct Limiter {
    /// Replaced by a reload; a tenant's state follows its new limits at its next request.
    settings: ArcSwap<TenancySettings>,
    max_tenants: usize,
    tenants: Mutex<HashMap<Arc<str>, TenantState>>,
}

struct TenantState {
    /// The limits the buckets were made for.
    limits: TenantLimits,
    /// Items buckets by signal (`Signal` order: traces, metrics, logs).
    items: [Option<Bucket>; 3],
    bytes: Option<Bucket>,
    /// 0: no cap.
    max_in_flight: u32,
    in_flight: u32,
    last_seen: Instant,
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

fn items_field(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "spans_per_second",
        Signal::Metrics => "data_points_per_second",
        Signal::Logs => "log_records_per_second",
    }
}

fn items_rate(limits: &TenantLimits, signal: Signal) -> Option<u64> {
    match signal {
        Signal::Traces => limits.spans_per_second,
        Signal::Metrics => limits.data_points_per_second,
        Signal::Logs => limits.log_records_per_second,
    }
}

/// Default `burst`: one second at full rate.
const DEFAULT_BURST: Duration = Duration::from_secs(1);

impl TenantState {
    fn new(limits: &TenantLimits, now: Instant) -> TenantState {
        let burst = limits
            .burst
            .filter(|b| !b.is_zero())
            .unwrap_or(DEFAULT_BURST);
        let bucket = |rate: Option<u64>| {
            rate.filter(|r| *r > 0)
                .map(|rate| Bucket::new(rate, burst, now))
        };
        TenantState {
            limits: limits.clone(),
            items: Signal::ALL.map(|s| bucket(items_rate(limits, s))),
            bytes: bucket(limits.bytes_per_second),
            max_in_flight: limits.max_concurrent_requests.unwrap_or(0),
            in_flight: 0,
            last_seen: now,
        }
    }

    /// Nothing in flight and every bucket full: forgetting it changes nothing.
    fn is_idle(&self, now: Instant) -> bool {
        self.in_flight == 0
            && self
                .items
                .iter()
                .chain(std::iter::once(&self.bytes))
                .flatten()
                .all(|b| b.is_full(now))
    }

    fn check(&mut self, signal: Signal, limits: &TenantLimits, now: Instant) -> Option<Over> {
        if self.max_in_flight > 0 && self.in_flight >= self.max_in_flight {
            return Some(Over::Concurrency {
                max: self.max_in_flight,
            });
        }
        if let Some(bucket) = &mut self.items[index(signal)]
            && let Some(wait) = bucket.wait(now)
        {
            return Some(Over::Items {
                field: items_field(signal),
                rate: items_rate(limits, signal).unwrap_or(0),
                wait,
            });
        }
        if let Some(bucket) = &mut self.bytes
            && let Some(wait) = bucket.wait(now)
        {
            return Some(Over::Bytes {
                rate: limits.bytes_per_second.unwrap_or(0),
                wait,
            });
        }
        None
    }

    fn take(&mut self, signal: Signal, demand: &Demand) {
        if let Some(bucket) = &mut self.items[index(signal)] {
            bucket.take(demand.items);
        }
        if let Some(bucket) = &mut self.bytes {
            bucket.take(demand.bytes);
        }
        self.in_flight = self.in_flight.saturating_add(1);
    }
}

impl Limiter {
    pub fn new(settings: Arc<TenancySettings>) -> Limiter {
        Limiter::with_capacity(settings, MAX_TENANTS)
    }

    fn with_capacity(settings: Arc<TenancySettings>, max_tenants: usize) -> Limiter {
        Limiter {
            settings: ArcSwap::new(settings),
            max_tenants: max_tenants.max(1),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// Apply reloaded settings. Tenants whose limits changed get buckets for the new limits
    /// (full) at their next request, keeping their requests in flight; the others keep their
    /// state.
    pub fn update(&self, settings: Arc<TenancySettings>) {
        self.settings.store(settings);
    }

    /// Admit the whole request (every demand) or refuse it; nothing is taken when refused.
    /// The returned [`Permits`] hold the tenants' concurrency slots until dropped.
    pub fn admit(
        self: &Arc<Self>,
        signal: Signal,
        demands: &[Demand],
        now: Instant,
    ) -> Result<Permits, Refused> {
        let settings = self.settings.load();
        let limited: Vec<(&Demand, TenantLimits)> = demands
            .iter()
            .map(|d| (d, settings.limits_of(&d.tenant)))
            .filter(|(_, limits)| limits.is_limited())
            .collect();
        if limited.is_empty() {
            return Ok(Permits::none());
        }
        let mut tenants = self.tenants.lock();
        for (demand, limits) in &limited {
            if !tenants.contains_key(&demand.tenant) && !self.make_room(&mut tenants, demands, now)
            {
                return Err(Refused {
                    tenant: demand.tenant.clone(),
                    over: Over::TooManyTenants,
                });
            }
            let state = tenants
                .entry(demand.tenant.clone())
                .or_insert_with(|| TenantState::new(limits, now));
            if state.limits != *limits {
                let in_flight = state.in_flight;
                *state = TenantState::new(limits, now);
                state.in_flight = in_flight;
            }
            state.last_seen = now;
            if let Some(over) = state.check(signal, limits, now) {
                return Err(Refused {
                    tenant: demand.tenant.clone(),
                    over,
                });
            }
        }
        let mut held = Vec::with_capacity(limited.len());
        for (demand, _) in &limited {
            if let Some(state) = tenants.get_mut(&demand.tenant) {
                state.take(signal, demand);
                held.push(demand.tenant.clone());
            }
        }
        Ok(Permits {
            limiter: Some(self.clone()),
            tenants: held,
        })
    }

    /// Make room for one more tenant; false when every tracked tenant has a request in flight.
    /// The tenants of the current request are kept.
    fn make_room(
        &self,
        tenants: &mut HashMap<Arc<str>, TenantState>,
        current: &[Demand],
        now: Instant,
    ) -> bool {
        if tenants.len() < self.max_tenants {
            return true;
        }
        let is_current = |tenant: &Arc<str>| current.iter().any(|d| d.tenant == *tenant);
        tenants.retain(|tenant, state| is_current(tenant) || !state.is_idle(now));
        if tenants.len() < self.max_tenants {
            return true;
        }
        let oldest = tenants
            .iter()
            .filter(|(tenant, state)| state.in_flight == 0 && !is_current(tenant))
            .min_by_key(|(_, state)| state.last_seen)
            .map(|(tenant, _)| tenant.clone());
        match oldest {
            Some(tenant) => {
                tenants.remove(&tenant);
                true
            }
            None => false,
        }
    }

    fn release(&self, released: &[Arc<str>]) {
        let mut tenants = self.tenants.lock();
        for tenant in released {
            if let Some(state) = tenants.get_mut(tenant) {
                state.in_flight = state.in_flight.saturating_sub(1);
            }
        }
    }

    /// Tenants tracked now (for tests).
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.tenants.lock().len()
    }
}

/// The concurrency slots of an admitted request, released when dropped (after the pipeline
/// answered).
pub(crate) struct Permits {
    limiter: Option<Arc<Limiter>>,
    tenants: Vec<Arc<str>>,
}

impl Permits {
    pub fn none() -> Permits {
        Permits {
            limiter: None,
            tenants: Vec::new(),
        }
    }
}

impl Drop for Permits {
    fn drop(&mut self) {
        if let Some(limiter) = &self.limiter {
            limiter.release(&self.tenants);
        }
    }
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
