//! Tenant identity and per-tenant quotas of the `otlp` receiver (`tenancy:` naming an
//! `extensions.tenancy[/name]`).
//!
//! After a request is decoded, [`Tenancy::admit`] names its tenant from the configured sources
//! (`resolve`), splits it into one payload per tenant when a source looks at resources
//! (`split`), writes the tenant into every resource when `set_resource_attribute` is set, and
//! checks every tenant's quotas (`quota`, built on the debt-model `bucket`). A refusal
//! (`refusal`) becomes HTTP 400 / 401 / 429 or gRPC `InvalidArgument` / `Unauthenticated` /
//! `ResourceExhausted` in the protocol handlers.
//!
//! One [`Tenancy`] is built per extension and shared by every receiver that names it, so a
//! tenant's quota covers all of them.

mod bucket;
mod quota;
mod refusal;
mod resolve;
mod split;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::HeaderMap;
use sluice_config::{ComponentId, TenancySettings};
use sluice_pipeline::metrics::{Metrics, ReceiverTenantMetrics};
use sluice_pipeline::{Payload, RequestContext};

pub(crate) use quota::Permits;
pub(crate) use refusal::Refusal;

use quota::{Demand, Limiter};
use resolve::{RequestFacts, Resolver};

/// `tenant` label of items refused before any tenant was named (not a valid tenant id).
const UNIDENTIFIED: &str = "<unidentified>";
/// `tenant` label of items refused because a source named an invalid tenant id.
const INVALID: &str = "<invalid>";

/// Tenancy extensions by id, as receivers' `tenancy:` fields name them.
pub type Tenancies = HashMap<ComponentId, Arc<Tenancy>>;

/// The running form of one `tenancy` extension: how tenants are named, their quota state and
/// their counters. Build one per extension and share it among receivers.
pub struct Tenancy {
    /// `extensions.tenancy/name`, for messages.
    owner: String,
    /// Replaced by [`Tenancy::update`] on reload.
    settings: ArcSwap<TenancySettings>,
    limiter: Arc<Limiter>,
    metrics: ReceiverTenantMetrics,
}

impl std::fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenancy")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// One payload per tenant.
type Parts = Vec<(Arc<str>, Payload)>;

/// A request the tenancy let through: one payload per tenant (in the order tenants first
/// appear), and the concurrency slots held until the pipeline answered.
pub(crate) struct Admitted {
    pub parts: Vec<(Arc<str>, Payload)>,
    pub permits: Permits,
    /// The parts are the request as it came: neither split by resource nor changed.
    pub whole: bool,
}

impl Tenancy {
    /// The tenancy of extension `id` (validated settings), counting into `metrics`.
    pub fn new(id: &ComponentId, settings: &TenancySettings, metrics: &Metrics) -> Tenancy {
        let settings = Arc::new(settings.clone());
        Tenancy {
            owner: format!("extensions.{id}"),
            limiter: Arc::new(Limiter::new(settings.clone())),
            settings: ArcSwap::new(settings),
            metrics: metrics.receiver_tenants(),
        }
    }

    /// Apply reloaded (validated) settings: sources, default tenant and limits take effect
    /// with the next request; quota state of tenants whose limits did not change is kept.
    pub fn update(&self, settings: &TenancySettings) {
        let settings = Arc::new(settings.clone());
        self.limiter.update(settings.clone());
        self.settings.store(settings);
    }

    /// Per-tenant counters (accepted / refused items).
    pub(crate) fn metrics(&self) -> &ReceiverTenantMetrics {
        &self.metrics
    }

    /// Name the tenant(s) of a decoded request and check their quotas. `wire_bytes` is the
    /// request's size as received. Refused items are counted here.
    pub(crate) fn admit(
        &self,
        payload: Payload,
        wire_bytes: usize,
        context: &RequestContext,
        headers: &HeaderMap,
    ) -> Result<Admitted, Refusal> {
        let signal = payload.signal();
        let items = payload.item_count();
        let (parts, split) = self
            .name(payload, context, headers)
            .inspect_err(|refusal| {
                let label = match refusal {
                    Refusal::InvalidTenant { .. } => INVALID,
                    _ => UNIDENTIFIED,
                };
                self.metrics.refused(label, signal, items, refusal.reason());
            })?;
        let mut parts: Vec<(Arc<str>, Payload)> = parts
            .into_iter()
            .filter(|(_, p)| p.item_count() > 0)
            .collect();
        let settings = self.settings.load();
        // Decided from what was done to this request, not from settings read again.
        let whole = !split && settings.set_resource_attribute.is_none();
        if let Some(key) = &settings.set_resource_attribute {
            for (tenant, payload) in &mut parts {
                split::set_attribute(payload, key, tenant);
            }
        }
        let demands = demands(&parts, wire_bytes);
        match self.limiter.admit(signal, &demands, Instant::now()) {
            Ok(permits) => Ok(Admitted {
                parts,
                permits,
                whole,
            }),
            Err(refused) => {
                let refusal = Refusal::Quota(refused);
                for demand in &demands {
                    let items = usize::try_from(demand.items).unwrap_or(usize::MAX);
                    self.metrics
                        .refused(&demand.tenant, signal, items, refusal.reason());
                }
                Err(refusal)
            }
        }
    }

    /// The payload of each tenant of the request, and whether it was split by resource.
    fn name(
        &self,
        payload: Payload,
        context: &RequestContext,
        headers: &HeaderMap,
    ) -> Result<(Parts, bool), Refusal> {
        let facts = RequestFacts {
            auth: &context.auth,
            headers,
        };
        let settings = self.settings.load();
        let mut resolver = Resolver::new(&settings.sources, facts);
        if resolver.per_resource() {
            let parts = split::by_tenant(payload, |resource| {
                resolver
                    .tenant(resource)
                    .and_then(|found| self.or_default(&settings, found))
            })?;
            Ok((parts, true))
        } else {
            let tenant = resolver
                .tenant(None)
                .and_then(|found| self.or_default(&settings, found))?;
            Ok((vec![(tenant, payload)], false))
        }
    }

    fn or_default(
        &self,
        settings: &TenancySettings,
        found: Option<Arc<str>>,
    ) -> Result<Arc<str>, Refusal> {
        match found {
            Some(tenant) => Ok(tenant),
            None if settings.refuse_unidentified => {
                Err(Refusal::unidentified(&self.owner, &settings.sources))
            }
            None => Ok(Arc::from(settings.default_tenant.as_str())),
        }
    }
}

/// Each tenant's items and bytes; a split request's wire bytes are shared out in proportion
/// to each part's encoded size.
fn demands(parts: &[(Arc<str>, Payload)], wire_bytes: usize) -> Vec<Demand> {
    let wire_bytes = wire_bytes as u64;
    let demand = |tenant: &Arc<str>, payload: &Payload, bytes: u64| Demand {
        tenant: tenant.clone(),
        items: payload.item_count() as u64,
        bytes,
    };
    if let [(tenant, payload)] = parts {
        return vec![demand(tenant, payload, wire_bytes)];
    }
    let sizes: Vec<u64> = parts.iter().map(|(_, p)| p.encoded_len() as u64).collect();
    let total = u128::from(sizes.iter().sum::<u64>().max(1));
    parts
        .iter()
        .zip(sizes)
        .map(|((tenant, payload), size)| {
            // u128: no overflow; the share is at most wire_bytes, so it fits in u64.
            let share = u128::from(wire_bytes) * u128::from(size) / total;
            demand(tenant, payload, u64::try_from(share).unwrap_or(wire_bytes))
        })
        .collect()
}
