//! Loading: what a broken or rejecting component reports.

use std::sync::Arc;

use sluice_pipeline::Consumer;
use sluice_wasm::{ComponentSource, WasmError};

use crate::support::*;

fn load_err(spec: &sluice_wasm::ProcessorSpec) -> WasmError {
    match runtime().load(spec) {
        Ok(_) => panic!("{} loaded", spec.name),
        Err(e) => e,
    }
}

#[test]
fn rejected_config_reports_the_guests_problems() {
    let e = load_err(&spec("wasm/picky", "reject-config"));
    let text = e.to_string();
    assert!(
        text.starts_with("processor wasm/picky: init rejected config: "),
        "{text}"
    );
    assert!(
        text.contains("statements[1]: fixture rejects this statement"),
        "{text}"
    );
    assert!(text.contains("fixture rejects the whole config"), "{text}");
    let WasmError::ConfigRejected { problems, .. } = e else {
        panic!("not ConfigRejected")
    };
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0].path, "statements[1]");
}

#[test]
fn sdk_config_errors_name_the_field() {
    let mut s = spec("wasm/typo", "ok");
    s.config_json = r#"{"emit_logz": true}"#.into();
    let text = load_err(&s).to_string();
    assert!(
        text.contains("processor wasm/typo: init rejected config"),
        "{text}"
    );
    assert!(text.contains("emit_logz"), "{text}");
}

#[test]
fn bytes_that_are_not_a_component_fail_to_compile() {
    let mut s = spec("wasm/not-wasm", "ok");
    s.component = ComponentSource::Bytes(Arc::from(&b"\xff\xff not wasm"[..]));
    let e = load_err(&s);
    assert!(matches!(e, WasmError::Compile { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("processor wasm/not-wasm: compile failed"),
        "{e}"
    );
}

#[test]
fn missing_component_file_is_named() {
    let mut s = spec("wasm/missing", "ok");
    s.component = ComponentSource::Path("/nonexistent/proc.wasm".into());
    let text = load_err(&s).to_string();
    assert!(
        text.contains("wasm/missing") && text.contains("/nonexistent/proc.wasm"),
        "{text}"
    );
}

#[test]
fn init_warnings_are_returned() {
    let (module, warnings) = runtime()
        .load(&spec("wasm/warns", "garbage"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warnings, ["mode: fixture warning: garbage in, garbage out"]);
    assert_eq!(module.name(), "wasm/warns");
    assert_eq!(module.flush_interval(), None);
}

#[test]
fn component_bytes_load_like_a_file() {
    let bytes = std::fs::read(fixture("ok")).expect("fixture file");
    let mut s = spec("wasm/from-bytes", "ok");
    s.component = ComponentSource::Bytes(bytes.into());
    assert!(runtime().load(&s).is_ok());
}

#[test]
fn versions_of_the_same_component_share_one_compilation() {
    // A runtime of its own: the shared one's cache holds the other tests' components.
    let runtime = sluice_wasm::Runtime::new().expect("runtime");
    let load = |spec: &sluice_wasm::ProcessorSpec| match runtime.load(spec) {
        Ok((module, _)) => module,
        Err(e) => panic!("load {}: {e}", spec.name),
    };
    let mut acme = spec("wasm/tag", "ok");
    acme.tenant = Some("acme".into());
    let mut globex = spec("wasm/tag", "ok");
    globex.tenant = Some("globex".into());
    globex.config_json = r#"{"chatty": true}"#.into();
    let (a, b) = (load(&acme), load(&globex));
    assert_eq!(runtime.compiled_components(), 1);
    assert_eq!((a.tenant(), b.tenant()), (Some("acme"), Some("globex")));
    let other = load(&spec("wasm/other", "ok2"));
    assert_eq!(runtime.compiled_components(), 2);
    drop((a, b, other));
    assert_eq!(
        runtime.compiled_components(),
        0,
        "unused compilations are freed"
    );
}

#[test]
fn a_tenants_load_error_names_processor_and_tenant() {
    let mut s = spec("wasm/picky", "reject-config");
    s.tenant = Some("acme".into());
    let text = load_err(&s).to_string();
    assert!(
        text.starts_with("processor wasm/picky (tenant acme): init rejected config: "),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_processor_counts_under_its_tenant_label() {
    let mut s = spec("wasm/tag", "ok");
    s.tenant = Some("acme".into());
    let (processor, recorder, metrics) = processor(&s);
    processor
        .consume(batch(spans(&["a"])))
        .await
        .expect("consume");
    assert_eq!(recorder.len(), 1);
    let exposition = metrics.encode();
    assert_eq!(
        sample(
            &exposition,
            r#"sluice_processor_calls_total{processor="wasm/tag",tenant="acme"}"#
        ),
        1.0,
        "{exposition}"
    );
}
