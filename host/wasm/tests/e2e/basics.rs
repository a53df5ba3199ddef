//! A well-behaved guest: tagging, instance reuse, unchanged, emit routes, logs, metrics.

use std::sync::Arc;
use std::time::Instant;

use sluice_pipeline::Consumer;
use sluice_pipeline::metrics::Metrics;
use sluice_wasm::{EmitRoutes, OutputCheck, WasmProcessor};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_tags_every_span_and_reuses_its_instance() {
    let (p, out, metrics) = processor(&spec("wasm/ok-basic", "ok"));
    for _ in 0..3 {
        p.consume(batch(spans(&["a", "b"])))
            .await
            .expect("consumed");
    }
    let payloads = out.payloads();
    assert_eq!(payloads.len(), 3);
    let calls: Vec<_> = payloads.iter().map(|p| tag(p, "fixture.calls")).collect();
    assert_eq!(
        calls,
        [Some("1".into()), Some("2".into()), Some("3".into())]
    );
    for payload in &payloads {
        assert_eq!(tag(payload, "fixture").as_deref(), Some("ok"));
        assert_eq!(all_spans(payload).len(), 2);
    }
    let m = metrics.wasm_processor("wasm/ok-basic");
    assert_eq!(m.calls(), 3);
    assert_eq!(m.restarts(), 0);
    let text = metrics.encode();
    assert_eq!(
        sample(
            &text,
            "sluice_processor_calls_total{processor=\"wasm/ok-basic\"}"
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            "sluice_processor_call_duration_seconds_count{processor=\"wasm/ok-basic\"}"
        ),
        3.0
    );
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_forwards_the_original_batch() {
    // The garbage fixture answers `unchanged` to batches without a boom span.
    let (p, out, _) = processor(&spec("wasm/garbage-unchanged", "garbage"));
    let original = spans(&["a", "b", "c"]);
    p.consume(batch(original.clone())).await.expect("consumed");
    assert_eq!(out.payloads(), vec![original]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitted_batches_follow_their_route() {
    let mut s = spec("wasm/emitter", "ok");
    s.config_json = r#"{"emit_logs": true}"#.into();
    let out = Arc::new(Recorder::default());
    let logs = Arc::new(Recorder::default());
    let routes = EmitRoutes {
        logs: Some(logs.clone()),
        ..EmitRoutes::default()
    };
    let p = WasmProcessor::with_routes(&runtime(), load(&s), out.clone(), routes, &Metrics::new());
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    p.consume(batch(spans(&["b"]))).await.expect("consumed");
    assert_eq!(out.len(), 2);
    let emitted = logs.payloads();
    assert_eq!(emitted.len(), 2);
    assert_eq!(emitted[0].signal(), sluice_pipeline::Signal::Logs);
    assert_eq!(emitted[0].item_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_without_a_route_is_refused_to_the_guest() {
    capture_logs();
    let mut s = spec("wasm/emitter-no-route", "ok");
    s.config_json = r#"{"emit_logs": true}"#.into();
    let (p, out, _) = processor(&s);
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    // The batch itself still goes on; only the traces reached the recorder.
    assert_eq!(out.len(), 1);
    assert_eq!(out.last().signal(), sluice_pipeline::Signal::Traces);
    assert!(captured_logs().contains("emit refused: NoRoute"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_output_goes_to_the_host_log_under_the_processor_name() {
    capture_logs();
    let mut s = spec("wasm/chatty", "ok");
    s.config_json = r#"{"chatty": true}"#.into();
    let (p, _out, _) = processor(&s);
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    let logs = captured_logs();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("wasm/chatty")).collect();
    assert!(
        lines.iter().any(|l| l.contains("ok call 1")),
        "log import line missing: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ok stderr line 1") && l.contains("stderr")),
        "stderr line missing: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_and_shuts_down_the_next_stage() {
    let (p, out, _) = processor(&spec("wasm/shutdown", "ok"));
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    assert_eq!(p.idle_instances(), 1);
    p.shutdown().await;
    assert_eq!(p.idle_instances(), 0);
    assert!(out.was_shut_down());
}

/// Not a timed test: prints the cost of one 1000-span batch (10 attributes per span) through
/// the `ok` guest next to native prost decode + encode. `cargo test -p sluice-wasm --release
/// -- --ignored --nocapture call_overhead`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn call_overhead_per_1000_span_batch() {
    use prost::Message;
    let (p, _out, metrics) = processor(&spec("wasm/overhead", "ok"));
    let payload = many_spans(1000);
    let rounds = 200;
    for _ in 0..20 {
        p.consume(batch(payload.clone())).await.expect("consumed");
    }
    let series = "sluice_processor_call_duration_seconds_sum{processor=\"wasm/overhead\"}";
    let guest_before = sample(&metrics.encode(), series);
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    for _ in 0..rounds {
        p.consume(batch(payload.clone())).await.expect("consumed");
    }
    let wasm = started.elapsed() / rounds;
    let wasm_cpu = (process_cpu_seconds() - cpu_before) / f64::from(rounds);
    let guest = (sample(&metrics.encode(), series) - guest_before) / f64::from(rounds);
    let sluice_pipeline::Payload::Traces(request) = &payload else {
        unreachable!()
    };
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    for _ in 0..rounds {
        let bytes = request.encode_to_vec();
        let mut decoded =
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(
                &bytes[..],
            )
            .expect("decodes");
        decoded.resource_spans[0].scope_spans[0].spans[0]
            .name
            .push('x');
        std::hint::black_box(decoded.encode_to_vec());
    }
    let native = started.elapsed() / rounds;
    let native_cpu = (process_cpu_seconds() - cpu_before) / f64::from(rounds);
    // Boundary only: the garbage guest scans the bytes and answers `unchanged`.
    let (unchanged, _out, unchanged_metrics) =
        processor(&spec("wasm/overhead-unchanged", "garbage"));
    for _ in 0..rounds {
        unchanged
            .consume(batch(payload.clone()))
            .await
            .expect("consumed");
    }
    let boundary = sample(
        &unchanged_metrics.encode(),
        "sluice_processor_call_duration_seconds_sum{processor=\"wasm/overhead-unchanged\"}",
    ) / f64::from(rounds);
    println!(
        "guest call answering unchanged (bytes in, scan, nothing out): {:.3} ms",
        boundary * 1000.0
    );
    println!(
        "1000-span batch ({} B): consume through the wasm processor {wasm:?} (host encode, \
         guest call, host framing check of the replaced bytes, clone); guest call alone {:.3} ms; native encode+decode+encode \
         {native:?}; CPU per batch: wasm path {:.3} ms, native {:.3} ms",
        payload.encoded_len(),
        guest * 1000.0,
        wasm_cpu * 1000.0,
        native_cpu * 1000.0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_get_the_bytes_a_batch_travels_as_and_replaced_bytes_stay_bytes() {
    use sluice_pipeline::{Encoded, Payload};
    // "boom" only in an unknown field: it is in the bytes, not in the decoded request, so the
    // garbage guest sees it only if it gets the bytes as received rather than a re-encoding.
    let decoded = spans(&["a"]);
    let mut raw = decoded.to_wire().to_vec();
    raw.extend_from_slice(&[0x7a, 0x04]);
    raw.extend_from_slice(b"boom");
    let received = Encoded::with_decoded(bytes::Bytes::from(raw), decoded.clone());
    let (garbage, out, metrics) = processor(&spec("wasm/bytes-garbage", "garbage"));
    garbage
        .consume(batch(received.clone()))
        .await
        .expect("on_error: pass");
    assert_eq!(
        metrics
            .wasm_processor("wasm/bytes-garbage")
            .errors("malformed_output"),
        1,
        "the guest saw the unknown field"
    );
    assert_eq!(
        out.raw_payloads(),
        std::slice::from_ref(&received),
        "passed on as received"
    );

    // The ok guest replaces the batch. Checked by framing only (built-in guests) or in full
    // (any component; spans are checked without decoding them), its bytes arrive counted, not
    // decoded.
    for check in [OutputCheck::Framing, OutputCheck::Decode] {
        let mut s = spec("wasm/bytes-ok", "ok");
        s.output_check = check;
        let (ok, out, _) = processor(&s);
        ok.consume(batch(spans(&["a", "b", "c"])))
            .await
            .expect("consumed");
        let replaced = out.raw_payloads().pop().expect("a batch");
        let Payload::Encoded(e) = &replaced else {
            panic!("replaced bytes were not kept: {replaced:?}")
        };
        assert!(e.known_decoded().is_none(), "{check:?}");
        assert_eq!(e.origin(), Some("wasm/bytes-ok"));
        assert_eq!(replaced.item_count(), 3);
        assert_eq!(tag(&out.last(), "fixture").as_deref(), Some("ok"));
    }
}

/// CPU time of this process (user + system), from /proc; 0 where unavailable.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based) of the whole line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn flushed_by(payload: &sluice_pipeline::Payload) -> Vec<String> {
    let sluice_pipeline::Payload::Logs(request) = payload else {
        return Vec::new();
    };
    request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .flat_map(|r| &r.attributes)
        .filter(|kv| kv.key == "flushed.by")
        .map(|kv| format!("{:?}", kv.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_timer_calls_flush_on_idle_instances() {
    let mut s = spec("wasm/flush-timer", "ok");
    s.config_json = r#"{"flush_ms": 20, "emit_on_flush": true}"#.into();
    let module = load(&s);
    assert_eq!(
        module.flush_interval(),
        Some(std::time::Duration::from_millis(20))
    );
    let logs = Arc::new(Recorder::default());
    let routes = EmitRoutes {
        logs: Some(logs.clone()),
        ..EmitRoutes::default()
    };
    let out = Arc::new(Recorder::default());
    let p = WasmProcessor::with_routes(&runtime(), module, out.clone(), routes, &Metrics::new());
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while logs.len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        logs.len() >= 2,
        "the timer flushed the idle instance repeatedly"
    );
    assert_eq!(
        p.idle_instances(),
        1,
        "flushed instances go back to the pool"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_instance_is_flushed_once_more() {
    let mut s = spec("wasm/flush-retire", "ok");
    s.config_json = r#"{"emit_on_flush": true}"#.into();
    let logs = Arc::new(Recorder::default());
    let routes = EmitRoutes {
        logs: Some(logs.clone()),
        ..EmitRoutes::default()
    };
    let out = Arc::new(Recorder::default());
    let p = WasmProcessor::with_routes(&runtime(), load(&s), out.clone(), routes, &Metrics::new());
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    assert_eq!(logs.len(), 0);
    let mut s2 = spec("wasm/flush-retire", "ok2");
    s2.config_json = s.config_json.clone();
    p.swap(load(&s2));
    p.consume(batch(spans(&["b"]))).await.expect("consumed");
    let flushed: Vec<_> = logs.payloads().iter().flat_map(flushed_by).collect();
    assert_eq!(
        flushed.len(),
        1,
        "the old version's instance was flushed on retirement"
    );
    assert!(flushed[0].contains("\"ok\""), "{flushed:?}");
    p.shutdown().await;
    let flushed: Vec<_> = logs.payloads().iter().flat_map(flushed_by).collect();
    assert_eq!(flushed.len(), 2, "shutdown flushed the serving instance");
    assert!(flushed[1].contains("\"ok2\""), "{flushed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_see_no_environment_arguments_files_or_network() {
    let mut s = spec("wasm/sandbox", "ok");
    s.config_json = r#"{"probe_sandbox": true}"#.into();
    let (p, out, _) = processor(&s);
    p.consume(batch(spans(&["a"]))).await.expect("consumed");
    let got = out.last();
    assert_eq!(tag(&got, "fixture").as_deref(), Some("ok"), "the probe ran");
    assert_eq!(tag(&got, "sandbox.env").as_deref(), Some("0"));
    assert_eq!(tag(&got, "sandbox.args").as_deref(), Some("0"));
    let fs = tag(&got, "sandbox.fs").unwrap_or_default();
    assert!(!fs.contains("readable"), "no directory is preopened: {fs}");
    let net = tag(&got, "sandbox.net").unwrap_or_default();
    assert_ne!(net, "connected", "no network");
    println!("sandbox probe: fs {fs}; net {net}");
}
