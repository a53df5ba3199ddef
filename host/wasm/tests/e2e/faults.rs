//! Misbehaving guests: the host stays up, `on_error` applies, counters move, and the next
//! batch is processed by a fresh instance.

use std::time::{Duration, Instant};

use sluice_pipeline::Consumer;
use sluice_pipeline::metrics::WasmProcessorMetrics;
use sluice_pipeline::{Payload, metrics::Metrics};
use sluice_wasm::{OnError, OutputCheck};

use crate::support::*;

fn encoded(payload: &Payload) -> Vec<u8> {
    payload.to_wire().to_vec()
}

/// Sends a good batch, a `boom` batch and another good batch through fixture `fixture_name`
/// with `on_error: pass`; checks the boom batch arrived byte for byte as sent and the next
/// one was processed by a fresh instance. Returns the processor's metrics.
async fn boom_passes_and_next_batch_is_processed(
    name: &str,
    fixture_name: &str,
    tune: impl FnOnce(&mut sluice_wasm::ProcessorSpec),
) -> (WasmProcessorMetrics, Metrics) {
    let mut s = spec(name, fixture_name);
    tune(&mut s);
    let (p, out, metrics) = processor(&s);
    p.consume(batch(spans(&["first"])))
        .await
        .expect("good batch");
    let boom = spans(&["a", "boom", "c"]);
    p.consume(batch(boom.clone()))
        .await
        .expect("a failed call with on_error: pass still succeeds");
    p.consume(batch(spans(&["after"])))
        .await
        .expect("next batch");

    let got = out.payloads();
    assert_eq!(got.len(), 3, "every batch was forwarded");
    assert_eq!(
        encoded(&got[1]),
        encoded(&boom),
        "boom batch passed on unchanged"
    );
    if fixture_name != "garbage" {
        assert_eq!(tag(&got[0], "fixture.calls").as_deref(), Some("1"));
        assert_eq!(
            tag(&got[2], "fixture.calls").as_deref(),
            Some("1"),
            "the next batch ran on a fresh instance"
        );
    }
    let m = metrics.wasm_processor(name);
    assert_eq!(m.restarts(), 1, "the trapped instance was replaced");
    assert_eq!(m.calls(), 3);
    (m, metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_is_counted_as_a_trap_and_its_message_is_logged() {
    capture_logs();
    let (m, metrics) = boom_passes_and_next_batch_is_processed("wasm/panic", "panic", |_| {}).await;
    assert_eq!(m.errors("trap"), 1);
    let text = metrics.encode();
    assert_eq!(
        sample(
            &text,
            "sluice_processor_errors_total{processor=\"wasm/panic\",kind=\"trap\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "sluice_processor_instance_restarts_total{processor=\"wasm/panic\"}"
        ),
        1.0
    );
    let logs = captured_logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("wasm/panic") && l.contains("fixture panic: boom span")),
        "the guest's panic message reached the host log"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("wasm/panic") && l.contains("kind=\"trap\""))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_ends_at_the_deadline() {
    let started = Instant::now();
    let (m, _) = boom_passes_and_next_batch_is_processed("wasm/spin", "spin", |s| {
        s.limits.timeout = Duration::from_millis(50);
    })
    .await;
    assert_eq!(m.errors("timeout"), 1);
    assert_eq!(m.errors("trap"), 0);
    // Not a timing assertion: only that the loop did not run on for seconds.
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Calls run on the async worker when an instance is idle (see `dispatch`): the wasm stack
/// limit, not the worker's own stack, ends a recursion without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_recursion_hits_the_wasm_stack_limit_on_a_worker() {
    let (m, _) = boom_passes_and_next_batch_is_processed("wasm/deep", "deep", |_| {}).await;
    assert_eq!(m.errors("trap"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_bomb_hits_the_memory_cap() {
    let (m, _) = boom_passes_and_next_batch_is_processed("wasm/hog", "hog", |s| {
        s.limits.memory_mib = 32;
    })
    .await;
    assert_eq!(m.errors("memory"), 1);
    assert_eq!(m.errors("trap"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_output_is_rejected_and_the_instance_replaced() {
    let (m, _) = boom_passes_and_next_batch_is_processed("wasm/garbage", "garbage", |_| {}).await;
    assert_eq!(m.errors("malformed_output"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_output_is_malformed_unless_only_the_framing_is_checked() {
    let bad = spans(&["utf8"]);
    // Any component: its output is checked in full, so a string that is not UTF-8 is caught
    // here and the batch follows on_error (pass: as it arrived).
    let (p, out, metrics) = processor(&spec("wasm/garbage-utf8", "garbage"));
    p.consume(batch(bad.clone())).await.expect("on_error: pass");
    assert_eq!(encoded(&out.raw_payloads()[0]), encoded(&bad));
    let m = metrics.wasm_processor("wasm/garbage-utf8");
    assert_eq!(m.errors("malformed_output"), 1);

    // Framing only (Sluice's built-in guests): the bytes go on; a stage that decodes them
    // refuses them, naming the processor.
    let mut s = spec("wasm/garbage-framing", "garbage");
    s.output_check = OutputCheck::Framing;
    let (p, out, metrics) = processor(&s);
    p.consume(batch(bad)).await.expect("forwarded");
    let m = metrics.wasm_processor("wasm/garbage-framing");
    assert_eq!(m.errors("malformed_output"), 0);
    let got = out.raw_payloads();
    assert_eq!(got[0].item_count(), 1);
    let error = got[0]
        .clone()
        .into_decoded()
        .expect_err("the span name is not UTF-8");
    assert!(
        error.to_string().contains("wasm/garbage-framing"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_drop_discards_the_batch_and_counts_it() {
    let mut s = spec("wasm/panic-drop", "panic");
    s.on_error = OnError::Drop;
    let (p, out, metrics) = processor(&s);
    p.consume(batch(spans(&["boom", "x"])))
        .await
        .expect("dropping is not an error");
    assert_eq!(out.len(), 0, "the batch was discarded");
    p.consume(batch(spans(&["after"])))
        .await
        .expect("next batch");
    assert_eq!(out.len(), 1);
    assert_eq!(tag(&out.last(), "fixture").as_deref(), Some("panic"));
    let text = metrics.encode();
    assert_eq!(
        sample(
            &text,
            "otelcol_processor_dropped_spans_total{processor=\"wasm/panic-drop\"}"
        ),
        2.0
    );
    assert_eq!(metrics.wasm_processor("wasm/panic-drop").errors("trap"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_error_keeps_the_instance() {
    let mut s = spec("wasm/fails", "ok");
    s.config_json = r#"{"fail_on_boom": true}"#.into();
    let (p, out, metrics) = processor(&s);
    p.consume(batch(spans(&["first"])))
        .await
        .expect("good batch");
    let boom = spans(&["boom"]);
    p.consume(batch(boom.clone())).await.expect("pass");
    p.consume(batch(spans(&["after"])))
        .await
        .expect("next batch");
    let got = out.payloads();
    assert_eq!(got[1], boom);
    assert_eq!(
        tag(&got[2], "fixture.calls").as_deref(),
        Some("2"),
        "same instance"
    );
    let m = metrics.wasm_processor("wasm/fails");
    assert_eq!(m.errors("process_error"), 1);
    assert_eq!(m.restarts(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_backs_off_then_recovers() {
    let (p, out, metrics) = processor(&spec("wasm/crash-loop", "panic"));
    for _ in 0..6 {
        p.consume(batch(spans(&["boom"]))).await.expect("pass");
    }
    let m = metrics.wasm_processor("wasm/crash-loop");
    assert_eq!(
        m.errors("trap"),
        5,
        "after 5 traps in a row the guest is skipped"
    );
    assert_eq!(m.errors("backoff"), 1);
    assert_eq!(out.len(), 6, "on_error: pass applied during back-off too");
    tokio::time::sleep(Duration::from_millis(250)).await;
    p.consume(batch(spans(&["after"])))
        .await
        .expect("next batch");
    assert_eq!(
        tag(&out.last(), "fixture").as_deref(),
        Some("panic"),
        "processed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_above_the_memory_high_water_mark_is_recycled() {
    let mut s = spec("wasm/grow", "ok");
    // Filling 50 MiB can take longer than the default 100 ms on a loaded test machine.
    s.limits.timeout = Duration::from_secs(5);
    let (p, out, metrics) = processor(&s);
    p.consume(batch(spans(&["grow"])))
        .await
        .expect("grow batch");
    assert_eq!(tag(&out.last(), "fixture.calls").as_deref(), Some("1"));
    p.consume(batch(spans(&["after"])))
        .await
        .expect("next batch");
    assert_eq!(
        tag(&out.last(), "fixture.calls").as_deref(),
        Some("1"),
        "a new instance"
    );
    let m = metrics.wasm_processor("wasm/grow");
    assert_eq!(m.restarts(), 1);
    assert_eq!(m.errors("trap") + m.errors("memory"), 0);
}
