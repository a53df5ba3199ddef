//! Live per-tenant swaps and shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sluice_config::ComponentId;
use sluice_pipeline::Consumer;

use super::super::Outcome;
use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_only_the_changed_tenant_and_rejects_a_broken_one_alone() {
    let (router, recorder, _) = build(&three_tenants("acme", "globex"), runtime());
    let before: BTreeMap<_, _> = ["acme", "globex", "initech"]
        .map(|t| (t, router.chain_of(Some(t)).expect("chain")))
        .into();
    let default_before = router.chain_of(None).expect("default chain");

    let (settings, processors) = three_tenants("acme-v2", "globex");
    let outcome = tokio::task::block_in_place(|| router.reload(&settings, &processors));
    assert_eq!(
        outcome,
        Outcome {
            swapped: vec![some("acme")],
            ..Outcome::default()
        }
    );
    assert_eq!(
        edit_of(&router, &recorder, Some("acme")).await,
        some("acme-v2")
    );
    let same = |tenant: Option<&str>, old: &[Arc<sluice_wasm::WasmProcessor>]| {
        let now = router.chain_of(tenant).expect("chain");
        now.len() == old.len() && now.iter().zip(old).all(|(a, b)| Arc::ptr_eq(a, b))
    };
    assert!(!same(Some("acme"), &before["acme"]));
    assert!(same(Some("globex"), &before["globex"]));
    assert!(same(Some("initech"), &before["initech"]));
    assert!(same(None, &default_before));

    // acme's new statement does not parse (rejected by the guest's init); globex's is fine.
    let (settings, processors) = three_tenants("acme-v3\" oops", "globex-v2");
    let outcome = tokio::task::block_in_place(|| router.reload(&settings, &processors));
    assert_eq!(outcome.swapped, vec![some("globex")]);
    assert_eq!(outcome.rejected.len(), 1, "{outcome:?}");
    let (tenant, error) = &outcome.rejected[0];
    assert_eq!(tenant.as_deref(), Some("acme"));
    assert!(
        error.contains("transform/acme (tenant acme)"),
        "the error names the processor and tenant: {error}"
    );
    assert_eq!(
        edit_of(&router, &recorder, Some("acme")).await,
        some("acme-v2")
    );
    assert_eq!(
        edit_of(&router, &recorder, Some("globex")).await,
        some("globex-v2")
    );
    assert!(same(Some("initech"), &before["initech"]));

    // Removing a tenant sends its data to the default chain; changing the default swaps it only.
    let (mut settings, mut processors) = three_tenants("acme-v2", "globex-v2");
    settings.tenants.remove("initech");
    let id = ComponentId::new("transform", Some("default"));
    let default_v2 = config(
        &format!("  transform/default: {}", transform("default-v2")),
        "    {}",
    )
    .1;
    processors.insert(id.clone(), default_v2[&id].clone());
    let acme_now = router.chain_of(Some("acme")).expect("chain");
    let outcome = tokio::task::block_in_place(|| router.reload(&settings, &processors));
    assert_eq!(outcome.swapped, vec![None], "{outcome:?}");
    assert_eq!(outcome.removed, vec!["initech".to_owned()]);
    assert_eq!(
        edit_of(&router, &recorder, Some("initech")).await,
        some("default-v2")
    );
    assert!(same(Some("acme"), &acme_now));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_under_load_loses_nothing() {
    let (router, recorder, _) = build(&three_tenants("acme", "globex"), runtime());
    let sent = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for tenant in ["acme", "globex", "initech", "nobody"] {
        let (router, sent) = (router.clone(), sent.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..150 {
                let names: Vec<String> = (0..1 + i % 4).map(|n| format!("s{n}")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                router
                    .consume(batch(Some(tenant), &names))
                    .await
                    .expect("consume");
                sent.fetch_add(names.len(), Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        }));
    }
    let reloader = {
        let router = router.clone();
        tokio::task::spawn_blocking(move || {
            let mut swaps = 0;
            for v in 0..6 {
                let (settings, processors) =
                    three_tenants(&format!("acme-{v}"), &format!("globex-{v}"));
                swaps += router.reload(&settings, &processors).swapped.len();
            }
            swaps
        })
    };
    for sender in senders {
        sender.await.expect("sender");
    }
    assert_eq!(reloader.await.expect("reloader"), 12);
    assert_eq!(recorder.items(), sent.load(Ordering::SeqCst));
    for (tenant, values) in recorder.edits("edited_by") {
        let ok = |v: &Option<String>| match (tenant.as_deref(), v.as_deref()) {
            (Some(t @ ("acme" | "globex")), Some(v)) => v == t || v.starts_with(&format!("{t}-")),
            (Some("initech"), Some(v)) => v == "initech",
            (_, Some(v)) => v == "default",
            _ => false,
        };
        assert!(values.iter().all(ok), "{tenant:?} got {values:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_every_chain_and_shuts_next_down_once() {
    let (router, recorder, _) = build(&three_tenants("acme", "globex"), runtime());
    for tenant in [Some("acme"), Some("globex"), None] {
        edit_of(&router, &recorder, tenant).await;
    }
    let chains: Vec<_> = [Some("acme"), Some("globex"), None]
        .into_iter()
        .flat_map(|t| router.chain_of(t).expect("chain"))
        .collect();
    assert!(chains.iter().all(|p| p.idle_instances() == 1));
    router.shutdown().await;
    assert!(
        chains.iter().all(|p| p.idle_instances() == 0),
        "every chain's instances were flushed and retired"
    );
    assert_eq!(recorder.shutdowns.load(Ordering::SeqCst), 1);
}
