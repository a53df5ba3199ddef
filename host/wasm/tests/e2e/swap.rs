//! Hot swap: every batch is processed by exactly one version, nothing is lost, a broken
//! version is rejected while the old one keeps serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sluice_pipeline::Consumer;
use sluice_pipeline::metrics::Metrics;
use sluice_wasm::{ComponentSource, WasmProcessor};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_applies_to_the_next_batch() {
    let (p, out, _) = processor(&spec("wasm/swap-once", "ok"));
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    assert_eq!(p.generation(), 1);
    p.swap(load(&spec("wasm/swap-once", "ok2")));
    assert_eq!(p.generation(), 2);
    p.consume(batch(spans(&["b"]))).await.expect("consumed");
    let got = out.payloads();
    assert_eq!(tag(&got[0], "fixture").as_deref(), Some("ok"));
    assert_eq!(tag(&got[1], "fixture").as_deref(), Some("ok2"));
    assert_eq!(
        p.idle_instances(),
        1,
        "the old version's instance was retired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_load_loses_nothing_and_splits_no_batch() {
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 300;
    const SWAPS: usize = 24;
    const N: usize = SENDERS * PER_SENDER;
    let name = "wasm/hot";
    let ok = load(&spec(name, "ok"));
    let ok2 = load(&spec(name, "ok2"));
    let out = Arc::new(Recorder::default());
    let p = WasmProcessor::new(&runtime(), ok.clone(), out.clone(), &Metrics::new());
    let sent = Arc::new(AtomicUsize::new(0));

    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let (p, sent) = (p.clone(), sent.clone());
            tokio::spawn(async move {
                for i in 0..PER_SENDER {
                    let name = format!("s{s}-{i}");
                    p.consume(batch(spans(&[&name, &name, &name])))
                        .await
                        .expect("consumed");
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    let broken_bytes = {
        let mut s = spec(name, "ok");
        s.component = ComponentSource::Bytes(Arc::from(&b"garbage, not a component"[..]));
        s
    };
    let rejecting = spec(name, "reject-config");
    for k in 0..SWAPS {
        // Swap roughly every N / SWAPS batches.
        while sent.load(Ordering::SeqCst) < (k + 1) * N / (SWAPS + 2) {
            tokio::task::yield_now().await;
        }
        if k == SWAPS / 2 {
            // A broken version mid-run is rejected; the running one keeps serving.
            let generation = p.generation();
            assert!(runtime().load(&broken_bytes).is_err());
            let rejecting = rejecting.clone();
            assert!(
                tokio::task::spawn_blocking(move || runtime().load(&rejecting).is_err())
                    .await
                    .unwrap_or(false)
            );
            assert_eq!(p.generation(), generation);
        }
        let next = if k % 2 == 0 { ok2.clone() } else { ok.clone() };
        p.swap(next);
    }
    for s in senders {
        s.await.expect("sender finished");
    }

    let got = out.payloads();
    assert_eq!(got.len(), N, "every batch arrived");
    let mut seen = std::collections::HashMap::new();
    let mut names = std::collections::HashSet::new();
    for payload in &got {
        let spans = all_spans(payload);
        assert_eq!(spans.len(), 3);
        for span in &spans {
            let values = attr_values(span, "fixture");
            assert_eq!(values.len(), 1, "exactly one fixture tag: {values:?}");
            assert!(values[0] == "ok" || values[0] == "ok2");
        }
        let version = tag(payload, "fixture").unwrap_or_default();
        *seen.entry(version).or_insert(0usize) += 1;
        names.insert(spans[0].name.clone());
    }
    assert_eq!(names.len(), N, "no batch arrived twice");
    assert!(seen.get("ok").is_some_and(|&n| n > 0), "{seen:?}");
    assert!(seen.get("ok2").is_some_and(|&n| n > 0), "{seen:?}");
    assert_eq!(p.generation(), 1 + SWAPS as u64);
}
