//! Loading: what a broken or rejecting component reports.

use std::sync::Arc;

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
