//! Routing and isolation: each tenant's data through its own chain only; a misbehaving guest of
//! one tenant leaves the others' output exact; compiled once, instances on first use.

use std::collections::BTreeMap;

use sluice_config::{ComponentId, Processor, TenantProcessorsSettings};
use sluice_pipeline::Consumer;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_gets_only_its_own_transform_and_the_rest_the_default_chain() {
    let (router, recorder, metrics) = build(&three_tenants("acme", "globex"), runtime());
    for tenant in ["acme", "globex", "initech", "acme", "globex"] {
        router
            .consume(batch(Some(tenant), &["a", "b"]))
            .await
            .expect("consume");
    }
    router.consume(batch(None, &["a"])).await.expect("consume");
    router
        .consume(batch(Some("umbrella"), &["a"]))
        .await
        .expect("consume");
    let edits = recorder.edits("edited_by");
    assert_eq!(edits.len(), 7);
    for (tenant, values) in &edits {
        let listed = ["acme", "globex", "initech"];
        let expected = tenant
            .as_deref()
            .filter(|t| listed.contains(t))
            .unwrap_or("default");
        assert!(
            values.iter().all(|v| v.as_deref() == Some(expected)),
            "tenant {tenant:?} got {values:?}, expected only {expected}"
        );
    }
    let exposition = metrics.encode();
    for series in [
        r#"sluice_processor_calls_total{processor="transform/acme",tenant="acme"} 2"#,
        r#"sluice_processor_calls_total{processor="transform/initech",tenant="initech"} 1"#,
        r#"sluice_processor_calls_total{processor="transform/default"} 2"#,
    ] {
        assert!(
            exposition.lines().any(|l| l == series),
            "missing {series} in:\n{exposition}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_share_the_compiled_component_and_start_instances_on_first_use() {
    let runtime = runtime();
    let (router, recorder, _) = build(&three_tenants("acme", "globex"), runtime.clone());
    assert_eq!(
        runtime.compiled_components(),
        1,
        "four chains of the transform guest compile it once"
    );
    let idle = |tenant| -> usize {
        router
            .chain_of(tenant)
            .expect("a chain")
            .iter()
            .map(|p| p.idle_instances())
            .sum()
    };
    assert_eq!(idle(Some("acme")) + idle(Some("globex")) + idle(None), 0);
    assert_eq!(
        edit_of(&router, &recorder, Some("acme")).await,
        some("acme")
    );
    assert_eq!(idle(Some("acme")), 1, "acme's instance is pooled");
    assert_eq!(idle(Some("globex")), 0, "globex never ran: no instance");
}

/// A tenant chain config with `bad` running `fixture` (its own limits) and three good tenants.
fn with_bad_tenant(
    fixture_name: &str,
    limits: &str,
) -> (TenantProcessorsSettings, BTreeMap<ComponentId, Processor>) {
    config(
        &format!(
            "  transform/acme: {}\n  transform/globex: {}\n  wasm/bad: {{component: '{}'}}",
            transform("acme"),
            transform("globex"),
            fixture(fixture_name),
        ),
        &format!(
            "    tenants:\n      acme: {{processors: [transform/acme]}}\n      globex: {{processors: [transform/globex]}}\n      \
             bad: {{processors: [wasm/bad], limits: {limits}}}\n      \
             also-bad: {{processors: [wasm/bad], limits: {limits}}}"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_looping_or_memory_exhausting_tenant_leaves_the_others_exact() {
    for (fixture_name, limits, kind) in [
        ("panic", "{memory_mib: 64, timeout: 100ms}", "trap"),
        ("spin", "{memory_mib: 64, timeout: 30ms}", "timeout"),
        ("hog", "{memory_mib: 16, timeout: 1s}", "memory"),
    ] {
        let (router, recorder, metrics) = build(&with_bad_tenant(fixture_name, limits), runtime());
        // `also-bad` runs the same processor as `bad`, in its own instances: warm one up.
        router
            .consume(batch(Some("also-bad"), &["fine"]))
            .await
            .expect("consume");
        let mut sends = Vec::new();
        for _ in 0..6 {
            for tenant in ["acme", "bad", "globex"] {
                let router = router.clone();
                let names: &[&str] = match tenant {
                    "bad" => &["boom", "x"],
                    _ => &["a", "b", "c"],
                };
                sends.push(tokio::spawn(async move {
                    router.consume(batch(Some(tenant), names)).await
                }));
            }
        }
        for send in sends {
            send.await.expect("task").expect("consume");
        }
        router
            .consume(batch(Some("also-bad"), &["fine"]))
            .await
            .expect("consume");

        let edits = recorder.edits("edited_by");
        let fixture_tags = recorder.edits("fixture");
        let calls = recorder.edits("fixture.calls");
        let of = |t: &str| {
            edits
                .iter()
                .filter(|(tenant, _)| tenant.as_deref() == Some(t))
                .count()
        };
        assert_eq!(
            (of("acme"), of("globex"), of("bad")),
            (6, 6, 6),
            "{fixture_name}: every batch came out"
        );
        for (tenant, values) in &edits {
            match tenant.as_deref() {
                Some(t @ ("acme" | "globex")) => assert_eq!(
                    values,
                    &vec![some(t); 3],
                    "{fixture_name}: {t}'s output changed"
                ),
                Some("bad") => assert_eq!(values, &vec![None, None]),
                _ => {}
            }
        }
        let bad_tags: Vec<_> = fixture_tags
            .iter()
            .filter(|(t, _)| t.as_deref() == Some("bad"))
            .collect();
        assert!(
            bad_tags.iter().all(|(_, tags)| tags == &vec![None, None]),
            "{fixture_name}: bad's batches pass unchanged (on_error: pass): {bad_tags:?}"
        );
        // The other tenant on the same processor kept its instance: its second call is call 2.
        let also_bad: Vec<_> = fixture_tags
            .iter()
            .zip(&calls)
            .filter(|((t, _), _)| t.as_deref() == Some("also-bad"))
            .map(|((_, tag), (_, calls))| (tag[0].clone(), calls[0].clone()))
            .collect();
        assert_eq!(
            also_bad,
            vec![
                (some(fixture_name), some("1")),
                (some(fixture_name), some("2"))
            ],
            "{fixture_name}: also-bad's instance was disturbed"
        );
        let exposition = metrics.encode();
        let errors = format!(
            r#"sluice_processor_errors_total{{processor="wasm/bad",tenant="bad",kind="{kind}"}}"#
        );
        assert!(
            exposition.lines().any(|l| l.starts_with(&errors)),
            "{fixture_name}: no {errors} in:\n{exposition}"
        );
        assert!(
            !exposition
                .lines()
                .any(|l| l.starts_with("sluice_processor_errors_total")
                    && l.contains("tenant=\"also-bad\"")),
            "{fixture_name}: errors counted for also-bad"
        );
    }
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory of idle tenants: `cargo test -p sluice --lib idle_tenant_memory -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, prints RSS per idle tenant"]
async fn idle_tenant_memory() {
    const TENANTS: usize = 500;
    let mut processors = String::new();
    let mut tenants = String::from("    tenants:\n");
    for t in 0..TENANTS {
        processors.push_str(&format!(
            "  transform/t{t}: {}\n",
            transform(&format!("t{t}"))
        ));
        tenants.push_str(&format!("      t{t}: {{processors: [transform/t{t}]}}\n"));
    }
    let one = config(
        &format!("  transform/t0: {}", transform("t0")),
        "    tenants:\n      t0: {processors: [transform/t0]}",
    );
    let many = config(processors.trim_end(), tenants.trim_end());
    let runtime = runtime();
    let (first, _, _) = build(&one, runtime.clone());
    let base = rss();
    let (router, recorder, _) = build(&many, runtime.clone());
    let loaded = rss();
    for t in 0..TENANTS {
        let tenant = format!("t{t}");
        assert_eq!(
            edit_of(&router, &recorder, Some(&tenant)).await,
            Some(tenant)
        );
    }
    let used = rss();
    println!(
        "{TENANTS} tenants: {:.1} MiB idle ({:.1} KiB per tenant), {:.1} MiB after each ran once \
         ({:.1} KiB per tenant with one pooled instance); compiled components: {}",
        (loaded - base) as f64 / 1048576.0,
        (loaded - base) as f64 / 1024.0 / TENANTS as f64,
        (used - base) as f64 / 1048576.0,
        (used - base) as f64 / 1024.0 / TENANTS as f64,
        runtime.compiled_components(),
    );
    drop(first);
}
