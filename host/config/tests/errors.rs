//! Bad configs get every problem reported at once, each with its YAML path.

use sluice_config::{ConfigErrors, load_documents};

fn errors(yaml: &str) -> Vec<String> {
    let env = |name: &str| (name == "MEM").then(|| "256".to_owned());
    match load_documents(vec![(Some("bad.yaml".into()), yaml.to_owned())], &env) {
        Ok(_) => Vec::new(),
        Err(ConfigErrors(errs)) => errs.iter().map(ToString::to_string).collect(),
    }
}

const PIPELINE: &str = "service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n";

#[test]
fn reports_every_problem_with_file_and_path() {
    let errs = errors(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: localhost:4317\n        tls: {cert_file: a, key_file: b, min_versoin: '1.2'}\n\
         exporters: {debug: {verbosity: loud}}\n\
         service: {pipelines: {traces: {receivers: [otlp, zipkin], exporters: [debug, file]}}}\n",
    );
    assert!(
        errs.iter().any(|e| e.starts_with(
            "bad.yaml: receivers.otlp.protocols.grpc.tls.min_versoin: unknown field `min_versoin`"
        )),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("bad.yaml: exporters.debug.verbosity: unknown variant `loud`")),
        "{errs:#?}"
    );
    // Reference errors are reported in the same run; `debug` is broken but declared, so it is not
    // reported a second time as undefined.
    assert!(
        errs.iter()
            .any(|e| e.contains("receivers[1]: receiver \"zipkin\" is not defined")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("exporters[1]: exporter \"file\" is not defined")),
        "{errs:#?}"
    );
    assert_eq!(errs.len(), 4, "{errs:#?}");
}

#[test]
fn undefined_references_are_named() {
    let errs = errors(
        "receivers: {otlp: {protocols: {http: }}}\nexporters: {debug: }\n\
         service: {pipelines: {traces: {receivers: [otlp, zipkin], exporters: [debug, file/x]}}}\n",
    );
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[0]
            .contains("service.pipelines.traces.receivers[1]: receiver \"zipkin\" is not defined")
    );
    assert!(
        errs[1]
            .contains("service.pipelines.traces.exporters[1]: exporter \"file/x\" is not defined")
    );
}

#[test]
fn unsupported_and_unknown_types_are_one_clear_line() {
    let errs = errors(&format!(
        "receivers: {{otlp: {{protocols: {{grpc: }}}}}}\nexporters: {{debug: }}\n\
         processors: {{groupbytrace: {{}}, frobnicate: {{}}}}\n{PIPELINE}"
    ));
    assert_eq!(
        errs,
        vec![
            "bad.yaml: processors.groupbytrace: processor \"groupbytrace\": not supported yet".to_owned(),
            "bad.yaml: processors.frobnicate: unknown processor type \"frobnicate\" (supported: batch, memory_limiter, transform, wasm, probabilistic_sampler, tail_sampling, tenant_processors)"
                .to_owned(),
        ]
    );
}

#[test]
fn tls_1_1_is_refused_with_the_reason() {
    let errs = errors(&format!(
        "receivers: {{otlp: {{protocols: {{grpc: {{tls: {{cert_file: a, key_file: b, min_version: '1.1'}}}}}}}}}}\n\
         exporters: {{debug: }}\n{PIPELINE}"
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].contains("receivers.otlp.protocols.grpc.tls.min_version: TLS 1.1 is refused"),
        "{errs:#?}"
    );
}

#[test]
fn authenticator_must_exist_and_be_enabled() {
    let errs = errors(&format!(
        "receivers: {{otlp: {{protocols: {{http: {{auth: {{authenticator: basicauth/server}}}}, grpc: {{auth: {{authenticator: nope}}}}}}}}}}\n\
         extensions: {{basicauth/server: {{htpasswd: {{inline: 'u:{{SHA}}x'}}}}}}\n\
         exporters: {{debug: }}\n{PIPELINE}"
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter()
            .any(|e| e.contains("grpc.auth.authenticator: authenticator \"nope\" is not defined"))
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("add it to service.extensions"))
    );
}

#[test]
fn env_values_keep_their_type_and_unset_ones_are_errors() {
    let ok = errors(&format!(
        "receivers: {{otlp: {{protocols: {{grpc: }}}}}}\nexporters: {{debug: }}\n\
         processors: {{memory_limiter: {{limit_mib: '${{env:MEM}}'}}}}\n{PIPELINE}"
    ));
    assert!(ok.is_empty(), "{ok:#?}");
    let errs = errors(&format!(
        "receivers: {{otlp: {{protocols: {{grpc: {{endpoint: '${{env:GRPC_ADDR}}'}}}}}}}}\nexporters: {{debug: }}\n{PIPELINE}"
    ));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains(
        "receivers.otlp.protocols.grpc.endpoint: environment variable GRPC_ADDR is not set"
    ));
}

#[test]
fn later_files_override_earlier_ones() {
    let base = "receivers: {otlp: {protocols: {grpc: {endpoint: 'localhost:1'}}}}\nexporters: {debug: }\n\
                service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n";
    let overlay = "receivers: {otlp: {protocols: {grpc: {endpoint: 'localhost:2'}}}}\n";
    let config = load_documents(
        vec![
            (Some("base.yaml".into()), base.into()),
            (Some("prod.yaml".into()), overlay.into()),
        ],
        &|_| None,
    )
    .unwrap();
    let sluice_config::Receiver::Otlp(otlp) = config.receivers.values().next().unwrap();
    assert_eq!(
        otlp.protocols.grpc.as_ref().unwrap().endpoint,
        "localhost:2"
    );
    // An error in a key set by the overlay names the overlay file.
    let err = load_documents(
        vec![
            (Some("base.yaml".into()), base.into()),
            (
                Some("prod.yaml".into()),
                "exporters: {debug: {x: 1}}".into(),
            ),
        ],
        &|_| None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("prod.yaml: exporters.debug.x: unknown field `x`"),
        "{err}"
    );
}

#[test]
fn compression_levels_are_checked_as_the_collector_checks_them() {
    let config = |exporter: &str| {
        format!(
            "receivers: {{otlp: {{protocols: {{grpc: }}}}}}\nexporters: {{{exporter}}}\n\
             service: {{pipelines: {{traces: {{receivers: [otlp], exporters: [{}]}}}}}}\n",
            exporter.split(':').next().unwrap_or_default()
        )
    };
    for good in [
        "otlp: {endpoint: a:4317, compression_params: {level: 1}}",
        "otlp: {endpoint: a:4317, compression_params: {level: -1}}",
        "otlp: {endpoint: a:4317, compression: zstd, compression_params: {level: 19}}",
        "otlphttp: {endpoint: 'http://a:4318', compression_params: {level: 9}}",
    ] {
        assert_eq!(errors(&config(good)), Vec::<String>::new(), "{good}");
    }
    for (bad, message) in [
        (
            "otlp: {endpoint: a:4317, compression_params: {level: 10}}",
            "exporters.otlp.compression_params.level: unsupported gzip level 10",
        ),
        (
            "otlp: {endpoint: a:4317, compression_params: {level: -2}}",
            "exporters.otlp.compression_params.level: gzip level -2 (Huffman only) is not supported",
        ),
        (
            "otlphttp: {endpoint: 'http://a:4318', compression: none, compression_params: {level: 3}}",
            "exporters.otlphttp.compression_params.level: a level (3) needs a compression",
        ),
        (
            "otlp: {endpoint: a:4317, compression_params: {levle: 3}}",
            "exporters.otlp.compression_params.levle: unknown field `levle`",
        ),
    ] {
        let errs = errors(&config(bad));
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&format!("bad.yaml: {message}"))),
            "{bad}: {errs:#?}"
        );
    }
}
