//! Where calls run: on the async worker that carries the batch when an idle instance is ready,
//! in the blocking pool otherwise, and there for good once a guest needs it.

use std::time::Duration;

use sluice_pipeline::Consumer;

use crate::support::*;

/// Runs `test` on a current-thread runtime whose blocking pool has one thread.
fn with_one_blocking_thread(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .expect("runtime")
        .block_on(test);
}

/// Holds the runtime's only blocking thread until [`BlockingThreadTaken::release`].
struct BlockingThreadTaken {
    release: std::sync::mpsc::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl BlockingThreadTaken {
    async fn take() -> BlockingThreadTaken {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::task::spawn_blocking(move || {
            let _ = started.send(());
            let _ = wait.recv();
        });
        running.await.expect("the blocking thread is taken");
        BlockingThreadTaken { release, task }
    }

    async fn release(self) {
        self.release.send(()).expect("release the blocking thread");
        let _ = self.task.await;
    }
}

/// With the runtime's only blocking thread taken, a call on an idle instance still completes:
/// it did not wait for the blocking pool.
#[test]
fn a_call_on_an_idle_instance_needs_no_blocking_thread() {
    with_one_blocking_thread(async {
        let (p, out, _) = processor(&spec("wasm/inline", "ok"));
        // The first call creates the instance, which runs `init`: in the blocking pool.
        p.consume(batch(spans(&["first"]))).await.expect("first");
        let taken = BlockingThreadTaken::take().await;
        let second = tokio::time::timeout(
            Duration::from_secs(10),
            p.consume(batch(spans(&["second"]))),
        )
        .await;
        taken.release().await;
        second
            .expect("the call did not wait for the blocking pool")
            .expect("second batch");
        let got = out.payloads();
        assert_eq!(got.len(), 2);
        assert_eq!(
            tag(&got[1], "fixture.calls").as_deref(),
            Some("2"),
            "the second call ran on the first call's instance"
        );
        assert!(p.runs_inline());
    });
}

/// A batch over 1 MiB is processed in the blocking pool, even with an idle instance: a long
/// call would hold up the other requests of the worker.
#[test]
fn a_batch_over_a_mebibyte_goes_to_the_blocking_pool() {
    with_one_blocking_thread(async {
        let (p, out, _) = processor(&spec("wasm/large", "ok"));
        p.consume(batch(spans(&["first"]))).await.expect("first");
        let big = spans(&vec!["large"; 6000]);
        assert!(big.to_wire().len() > 1 << 20, "the batch is over 1 MiB");
        let taken = BlockingThreadTaken::take().await;
        let large = tokio::spawn({
            let p = p.clone();
            async move { p.consume(batch(big)).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let waited = !large.is_finished();
        taken.release().await;
        large.await.expect("task").expect("large batch");
        assert!(waited, "the large batch waited for the blocking pool");
        assert_eq!(out.payloads().len(), 2);
        assert!(p.runs_inline(), "small batches still run on the worker");
    });
}

/// A guest writing to stderr makes a WASI call that blocks on the runtime: on a worker it
/// panics inside wasmtime-wasi. The batch is processed again in the blocking pool, exactly
/// once, and the processor's calls stay there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_writes_to_stderr_moves_to_the_blocking_pool_losing_no_batch() {
    capture_logs();
    let mut s = spec("wasm/chatty-inline", "ok");
    s.config_json = r#"{"chatty": true}"#.into();
    let (p, out, metrics) = processor(&s);
    for name in ["a", "b", "c"] {
        p.consume(batch(spans(&[name]))).await.expect("consumed");
    }
    assert!(!p.runs_inline(), "the processor moved to the blocking pool");
    let got = out.payloads();
    assert_eq!(got.len(), 3, "each batch went on once");
    let calls: Vec<Option<String>> = got.iter().map(|b| tag(b, "fixture.calls")).collect();
    // a: a new instance in the blocking pool; b: tried on a worker on that instance, which is
    // dropped, then again on a new one; c: that one's second call.
    assert_eq!(
        calls,
        [Some("1".into()), Some("1".into()), Some("2".into())],
        "every batch was processed by the guest"
    );
    let m = metrics.wasm_processor("wasm/chatty-inline");
    assert_eq!(m.calls(), 3, "the interrupted attempt is not a call");
    assert_eq!(m.errors("trap"), 0);
    assert_eq!(m.restarts(), 0);
    let logs = captured_logs();
    let moved = logs
        .lines()
        .filter(|l| l.contains("wasm/chatty-inline") && l.contains("blocking pool from now on"))
        .count();
    assert_eq!(moved, 1, "one warning: {logs}");
    let stderr_lines = logs
        .lines()
        .filter(|l| l.contains("wasm/chatty-inline") && l.contains("ok stderr line"))
        .count();
    assert_eq!(stderr_lines, 3, "each call's stderr line, once: {logs}");
}
