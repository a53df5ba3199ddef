use std::collections::BTreeMap;

use sluice_config::TenantSettings;

use super::*;

fn settings(default: TenantLimits, tenants: &[(&str, TenantLimits)]) -> Arc<TenancySettings> {
    Arc::new(TenancySettings {
        limits: default,
        tenants: tenants
            .iter()
            .map(|(id, limits)| {
                (
                    (*id).to_owned(),
                    TenantSettings {
                        limits: limits.clone(),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    })
}

fn spans(rate: u64) -> TenantLimits {
    TenantLimits {
        spans_per_second: Some(rate),
        ..Default::default()
    }
}

fn demand(tenant: &str, items: u64, bytes: u64) -> Demand {
    Demand {
        tenant: Arc::from(tenant),
        items,
        bytes,
    }
}

#[test]
fn over_the_items_rate_is_refused_with_the_time_the_debt_takes() {
    let limiter = Arc::new(Limiter::new(settings(spans(100), &[])));
    let t0 = Instant::now();
    let first = limiter.admit(Signal::Traces, &[demand("a", 300, 10)], t0);
    assert!(first.is_ok());
    let refused = limiter
        .admit(Signal::Traces, &[demand("a", 1, 10)], t0)
        .err()
        .unwrap();
    assert_eq!(
        refused,
        Refused {
            tenant: Arc::from("a"),
            over: Over::Items {
                field: "spans_per_second",
                rate: 100,
                wait: Duration::from_secs(2),
            }
        }
    );
    // Logs have no limit here; another tenant has its own bucket.
    assert!(
        limiter
            .admit(Signal::Logs, &[demand("a", 1000, 10)], t0)
            .is_ok()
    );
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("b", 1, 10)], t0)
            .is_ok()
    );
    assert!(
        limiter
            .admit(
                Signal::Traces,
                &[demand("a", 1, 10)],
                t0 + Duration::from_secs(2)
            )
            .is_ok()
    );
}

#[test]
fn bytes_rate_and_per_tenant_overrides() {
    let default = TenantLimits {
        bytes_per_second: Some(1000),
        ..Default::default()
    };
    let unlimited = TenantLimits {
        bytes_per_second: Some(0),
        ..Default::default()
    };
    let limiter = Arc::new(Limiter::new(settings(default, &[("big", unlimited)])));
    let t0 = Instant::now();
    for _ in 0..10 {
        assert!(
            limiter
                .admit(Signal::Metrics, &[demand("big", 1, 1_000_000)], t0)
                .is_ok()
        );
    }
    assert_eq!(limiter.tracked(), 0, "unlimited tenants are not tracked");
    assert!(
        limiter
            .admit(Signal::Metrics, &[demand("small", 1, 1500)], t0)
            .is_ok()
    );
    let refused = limiter
        .admit(Signal::Metrics, &[demand("small", 1, 1)], t0)
        .err()
        .unwrap();
    assert_eq!(
        refused.over,
        Over::Bytes {
            rate: 1000,
            wait: Duration::from_millis(500)
        }
    );
}

#[test]
fn a_split_request_is_refused_whole_and_takes_nothing() {
    let limiter = Arc::new(Limiter::new(settings(spans(10), &[])));
    let t0 = Instant::now();
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("over", 11, 0)], t0)
            .is_ok()
    );
    let refused = limiter
        .admit(
            Signal::Traces,
            &[demand("fine", 10, 0), demand("over", 1, 0)],
            t0,
        )
        .err()
        .unwrap();
    assert_eq!(&*refused.tenant, "over");
    // "fine" lost nothing: its full bucket still takes 10 and then 1 more (into debt).
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("fine", 10, 0)], t0)
            .is_ok()
    );
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("fine", 1, 0)], t0)
            .is_ok()
    );
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("fine", 1, 0)], t0)
            .is_err()
    );
}

#[test]
fn concurrency_slots_are_released_when_the_permits_drop() {
    let limits = TenantLimits {
        max_concurrent_requests: Some(2),
        ..Default::default()
    };
    let limiter = Arc::new(Limiter::new(settings(limits, &[])));
    let t0 = Instant::now();
    let one = limiter.admit(Signal::Logs, &[demand("a", 1, 1)], t0).ok();
    let two = limiter.admit(Signal::Logs, &[demand("a", 1, 1)], t0).ok();
    assert!(one.is_some() && two.is_some());
    let refused = limiter
        .admit(Signal::Logs, &[demand("a", 1, 1)], t0)
        .err()
        .unwrap();
    assert_eq!(refused.over, Over::Concurrency { max: 2 });
    assert!(
        limiter
            .admit(Signal::Logs, &[demand("b", 1, 1)], t0)
            .is_ok()
    );
    drop(one);
    assert!(
        limiter
            .admit(Signal::Logs, &[demand("a", 1, 1)], t0)
            .is_ok()
    );
}

#[test]
fn tracked_tenants_are_bounded_and_idle_ones_forgotten_first() {
    let limiter = Arc::new(Limiter::with_capacity(settings(spans(10), &[]), 3));
    let t0 = Instant::now();
    // "busy" goes into debt; the others take a little.
    let _ = limiter.admit(Signal::Traces, &[demand("busy", 100, 0)], t0);
    let _ = limiter.admit(Signal::Traces, &[demand("b", 5, 0)], t0);
    let _ = limiter.admit(Signal::Traces, &[demand("c", 5, 0)], t0);
    assert_eq!(limiter.tracked(), 3);
    // One second later b and c are full again: forgotten to make room; busy still owes.
    let t1 = t0 + Duration::from_secs(1);
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("d", 1, 0)], t1)
            .is_ok()
    );
    assert_eq!(limiter.tracked(), 2);
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("busy", 1, 0)], t1)
            .is_err()
    );
    // At the bound with nobody idle, the least recently seen tenant goes.
    let _ = limiter.admit(Signal::Traces, &[demand("e", 100, 0)], t1);
    let t2 = t1 + Duration::from_millis(10);
    let _ = limiter.admit(Signal::Traces, &[demand("d", 100, 0)], t2);
    let _ = limiter.admit(Signal::Traces, &[demand("e", 1, 0)], t2);
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("f", 1, 0)], t2)
            .is_ok()
    );
    assert_eq!(limiter.tracked(), 3);
    // "busy" was seen last at t1 (its refused try), before d and e.
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("busy", 1, 0)], t2)
            .is_ok()
    );
}

#[test]
fn a_new_tenant_is_refused_when_every_tracked_one_has_a_request_in_flight() {
    let limits = TenantLimits {
        max_concurrent_requests: Some(1),
        ..Default::default()
    };
    let limiter = Arc::new(Limiter::with_capacity(settings(limits, &[]), 2));
    let t0 = Instant::now();
    let _a = limiter.admit(Signal::Traces, &[demand("a", 1, 0)], t0).ok();
    let _b = limiter.admit(Signal::Traces, &[demand("b", 1, 0)], t0).ok();
    let refused = limiter
        .admit(Signal::Traces, &[demand("c", 1, 0)], t0)
        .err()
        .unwrap();
    assert_eq!(refused.over, Over::TooManyTenants);
    drop(_a);
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("c", 1, 0)], t0)
            .is_ok()
    );
}

#[test]
fn a_reload_applies_changed_limits_and_keeps_the_others_state() {
    let limiter = Arc::new(Limiter::new(settings(spans(100), &[])));
    let t0 = Instant::now();
    for tenant in ["a", "b"] {
        let first = limiter.admit(Signal::Traces, &[demand(tenant, 300, 10)], t0);
        assert!(first.is_ok());
        assert!(
            limiter
                .admit(Signal::Traces, &[demand(tenant, 1, 10)], t0)
                .is_err()
        );
    }
    // a gets a higher limit: fresh buckets; b's limit is unchanged: still in debt.
    limiter.update(settings(spans(100), &[("a", spans(10_000))]));
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("a", 1, 10)], t0)
            .is_ok()
    );
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("b", 1, 10)], t0)
            .is_err()
    );
    // Everyone unlimited: nothing is refused any more.
    limiter.update(settings(TenantLimits::default(), &[]));
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("b", 1, 10)], t0)
            .is_ok()
    );
}

#[test]
fn a_reload_keeps_the_requests_in_flight() {
    let limits = TenantLimits {
        max_concurrent_requests: Some(1),
        ..Default::default()
    };
    let limiter = Arc::new(Limiter::new(settings(limits.clone(), &[])));
    let t0 = Instant::now();
    let held = limiter.admit(Signal::Traces, &[demand("a", 1, 1)], t0);
    assert!(held.is_ok());
    limiter.update(settings(
        TenantLimits {
            spans_per_second: Some(1000),
            ..limits
        },
        &[],
    ));
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("a", 1, 1)], t0)
            .is_err(),
        "the request in flight still counts against the new limits"
    );
    drop(held);
    assert!(
        limiter
            .admit(Signal::Traces, &[demand("a", 1, 1)], t0)
            .is_ok()
    );
}
