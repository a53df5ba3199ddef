//! Every shipped config file and the seed documents' Collector configs go through the real loader.

use std::path::{Path, PathBuf};

use sluice_config::{ComponentId, Processor, Receiver, load, load_documents};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// The environments of `config/`: every file but `base.yaml`, each layered over it.
fn environments() -> Vec<PathBuf> {
    yaml_files(&repo().join("config"))
        .into_iter()
        .filter(|f| f.file_stem().is_some_and(|s| s != "base"))
        .collect()
}

/// `base.yaml` + `env.yaml`, as `sluice --env env` loads them, with `vars` as the environment.
fn bundle(env: &str, vars: &[(&str, &str)]) -> sluice_config::Config {
    let docs = ["base", env]
        .iter()
        .map(|name| {
            let file = repo().join(format!("config/{name}.yaml"));
            let text = std::fs::read_to_string(&file).unwrap();
            (Some(file), text)
        })
        .collect();
    load_documents(docs, &|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("base.yaml + {env}.yaml is invalid:\n{e}"))
}

#[test]
fn every_file_in_config_dir_is_valid_over_base_or_alone() {
    let files = environments();
    let names: Vec<_> = files.iter().filter_map(|f| f.file_stem()).collect();
    for env in ["dev", "staging", "prod", "mtls"] {
        assert!(
            names.iter().any(|n| *n == env),
            "config/{env}.yaml missing: {files:?}"
        );
    }
    // Environments are overlays of base.yaml; mtls.yaml (seed 000) is a config of its own.
    for file in files {
        let over_base = load(&[repo().join("config/base.yaml"), file.clone()]);
        let alone = load(&[&file]);
        if let (Err(over_base), Err(alone)) = (over_base, alone) {
            panic!(
                "{} is invalid over base.yaml:\n{over_base}\nand on its own:\n{alone}",
                file.display()
            );
        }
    }
    for env in ["dev", "staging", "prod"] {
        if let Err(e) = load(&[
            repo().join("config/base.yaml"),
            repo().join(format!("config/{env}.yaml")),
        ]) {
            panic!("base.yaml + {env}.yaml is invalid:\n{e}");
        }
    }
    if let Err(e) = load(&[repo().join("config/mtls.yaml")]) {
        panic!("config/mtls.yaml is invalid:\n{e}");
    }
}

fn otlp(config: &sluice_config::Config) -> &sluice_config::OtlpReceiverSettings {
    let Receiver::Otlp(otlp) = &config.receivers[&ComponentId::new("otlp", None)];
    otlp
}

/// The share of ordinary traces the `rest` tail-sampling policy keeps.
fn sampling_percentage(config: &sluice_config::Config) -> f64 {
    let Some(Processor::TailSampling(t)) = config
        .processors
        .get(&ComponentId::new("tail_sampling", None))
    else {
        panic!("no tail_sampling: {:?}", config.processors.keys());
    };
    let rest = t
        .policies
        .iter()
        .find(|p| p["type"].as_str() == Some("probabilistic"))
        .expect("a probabilistic policy");
    rest["probabilistic"]["sampling_percentage"]
        .as_f64()
        .expect("a percentage")
}

fn limit_mib(config: &sluice_config::Config) -> u64 {
    let Some(Processor::MemoryLimiter(m)) = config
        .processors
        .get(&ComponentId::new("memory_limiter", None))
    else {
        panic!("no memory_limiter");
    };
    m.limit_mib
}

#[test]
fn bundles_do_what_seed_002_says_of_each_environment() {
    // dev: plaintext on localhost, everything kept, the smallest memory limit.
    let dev = bundle("dev", &[]);
    let grpc = otlp(&dev).protocols.grpc.as_ref().unwrap();
    let http = otlp(&dev).protocols.http.as_ref().unwrap();
    assert!(grpc.tls.is_none() && http.tls.is_none(), "dev is plaintext");
    assert!(
        grpc.auth.is_none() && http.auth.is_none(),
        "dev has no auth"
    );
    assert_eq!(grpc.endpoint, "localhost:4317");
    assert_eq!(http.endpoint, "localhost:4318");
    assert_eq!(sampling_percentage(&dev), 100.0);
    assert!(dev.exporters.contains_key(&ComponentId::new("debug", None)));
    assert!(
        dev.exporters
            .contains_key(&ComponentId::new("prometheus", None))
    );

    // staging and prod: TLS and BasicAuth on both protocols, 25% and 10%, more memory.
    for (env, percentage, limit) in [("staging", 25.0, 1024), ("prod", 10.0, 2048)] {
        let config = bundle(env, &[]);
        let otlp = otlp(&config);
        for (tls, auth) in [
            (
                &otlp.protocols.grpc.as_ref().unwrap().tls,
                &otlp.protocols.grpc.as_ref().unwrap().auth,
            ),
            (
                &otlp.protocols.http.as_ref().unwrap().tls,
                &otlp.protocols.http.as_ref().unwrap().auth,
            ),
        ] {
            assert!(tls.is_some(), "{env}: TLS");
            assert_eq!(
                auth.as_ref().map(|a| a.authenticator.to_string()),
                Some("basicauth/server".to_owned()),
                "{env}: BasicAuth"
            );
        }
        assert_eq!(sampling_percentage(&config), percentage, "{env}");
        assert_eq!(limit_mib(&config), limit, "{env}");
        assert_eq!(
            config.service.telemetry.logs.encoding.as_deref(),
            Some("json"),
            "{env}: JSON logs"
        );
        assert!(
            !config
                .exporters
                .contains_key(&ComponentId::new("debug", None)),
            "{env} does not print data"
        );
    }
    assert!(limit_mib(&bundle("prod", &[])) > limit_mib(&bundle("staging", &[])));
}

#[test]
fn seed_000_mtls_config_is_valid() {
    let config =
        load(&[repo().join("tests/fixtures/seed-000/mtls-collector-config.yaml")]).unwrap();
    let Receiver::Otlp(otlp) = &config.receivers[&ComponentId::new("otlp", None)];
    let http = otlp.protocols.http.as_ref().unwrap();
    let tls = http.tls.as_ref().unwrap();
    assert_eq!(
        tls.client_ca_file.as_deref(),
        Some(Path::new("/etc/otel/certs/ca.crt"))
    );
    let grpc_tls = otlp.protocols.grpc.as_ref().unwrap().tls.as_ref().unwrap();
    assert_eq!(
        grpc_tls.client_ca_file, None,
        "the commented-out line must stay off"
    );
}

#[test]
fn seed_000_transform_config_is_valid_and_reaches_the_guest_as_json() {
    let config =
        load(&[repo().join("tests/fixtures/seed-000/add-tags-collector-config.yaml")]).unwrap();
    let id = ComponentId::new("transform", Some("add_tags"));
    let Some(Processor::Transform(transform)) = config.processors.get(&id) else {
        panic!("transform/add_tags missing: {:?}", config.processors);
    };
    let json: serde_json::Value = serde_json::from_str(&transform.guest_config_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"metric_statements": [{"context": "metric", "statements": ["set(attributes[\"env\"], \"dev\")"]}]})
    );
}

#[test]
fn staging_and_prod_get_mtls_only_when_client_ca_is_set() {
    let client_ca = |config: &sluice_config::Config| {
        otlp(config)
            .protocols
            .grpc
            .as_ref()
            .unwrap()
            .tls
            .as_ref()
            .unwrap()
            .client_ca_file
            .clone()
    };
    for env in ["staging", "prod"] {
        assert_eq!(client_ca(&bundle(env, &[])), None, "{env}");
        let with = bundle(env, &[("SLUICE_CLIENT_CA", "/ca.crt")]);
        assert_eq!(
            client_ca(&with).as_deref(),
            Some(Path::new("/ca.crt")),
            "{env}"
        );
    }
}
