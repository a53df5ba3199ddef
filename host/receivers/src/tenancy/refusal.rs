//! Why tenancy turned a request down, what the client is told and which reason the per-tenant
//! metrics count it under.

use std::time::Duration;

use sluice_config::TenantSource;

use super::quota::{Over, Refused};
use super::resolve::describe;
use crate::rpc_status::retry_seconds;

/// At most this many characters of a refused tenant id are echoed to the client.
const ECHO_CHARS: usize = 64;

/// A request refused by the receiver's tenancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A source named a tenant id that breaks the rule: HTTP 400, gRPC `InvalidArgument`.
    InvalidTenant { message: String },
    /// No source named a tenant and `refuse_unidentified` is set: HTTP 401, gRPC
    /// `Unauthenticated`.
    Unidentified { message: String },
    /// A tenant of the request is over a limit: HTTP 429, gRPC `ResourceExhausted`.
    Quota(Refused),
}

impl Refusal {
    pub fn invalid_tenant(source: &TenantSource, value: &str) -> Refusal {
        let mut shown: String = value.chars().take(ECHO_CHARS).collect();
        if shown.len() < value.len() {
            shown.push('…');
        }
        Refusal::InvalidTenant {
            message: format!(
                "tenant id {shown:?} from {} is not valid: {}",
                describe(source),
                sluice_config::TENANT_ID_RULE
            ),
        }
    }

    pub fn unidentified(extension: &str, sources: &[TenantSource]) -> Refusal {
        let tried: Vec<String> = sources.iter().map(describe).collect();
        Refusal::Unidentified {
            message: format!(
                "the request names no tenant (looked at: {}) and {extension} refuses unidentified requests",
                tried.join(", ")
            ),
        }
    }

    /// The `reason` label of `sluice_tenant_refused_*`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::InvalidTenant { .. } => "invalid_tenant",
            Refusal::Unidentified { .. } => "unidentified",
            Refusal::Quota(refused) => match refused.over {
                Over::Items { .. } => "rate_limit",
                Over::Bytes { .. } => "byte_rate_limit",
                Over::Concurrency { .. } | Over::TooManyTenants => "concurrency",
            },
        }
    }

    /// How long the client should wait before retrying (quota refusals only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Refusal::Quota(refused) => Some(match refused.over {
                Over::Items { wait, .. } | Over::Bytes { wait, .. } => wait,
                Over::Concurrency { .. } | Over::TooManyTenants => Duration::from_secs(1),
            }),
            _ => None,
        }
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            Refusal::InvalidTenant { message } | Refusal::Unidentified { message } => {
                message.clone()
            }
            Refusal::Quota(Refused { tenant, over }) => {
                let retry = retry_seconds(self.retry_after().unwrap_or_default());
                match over {
                    Over::Items { field, rate, .. } => format!(
                        "tenant {tenant:?} is over its {field} limit ({rate}/s); retry in {retry}s"
                    ),
                    Over::Bytes { rate, .. } => format!(
                        "tenant {tenant:?} is over its bytes_per_second limit ({rate} bytes/s); retry in {retry}s"
                    ),
                    Over::Concurrency { max } => format!(
                        "tenant {tenant:?} already has {max} requests in flight (max_concurrent_requests); retry later"
                    ),
                    Over::TooManyTenants => format!(
                        "tenant {tenant:?} cannot be tracked: {} tenants have requests in flight; retry later",
                        super::quota::MAX_TENANTS
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn quota_messages_name_the_limit_and_the_wait() {
        let refusal = Refusal::Quota(Refused {
            tenant: Arc::from("acme"),
            over: Over::Items {
                field: "spans_per_second",
                rate: 100,
                wait: Duration::from_millis(2100),
            },
        });
        assert_eq!(refusal.reason(), "rate_limit");
        assert_eq!(
            refusal.message(),
            "tenant \"acme\" is over its spans_per_second limit (100/s); retry in 3s"
        );
    }
}
