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

#[test]
fn every_file_in_config_dir_is_valid() {
    let files = yaml_files(&repo().join("config"));
    assert!(
        files.len() >= 3,
        "expected dev, staging and prod configs, found {files:?}"
    );
    for file in files {
        if let Err(e) = load(&[&file]) {
            panic!("{} is invalid:\n{e}", file.display());
        }
    }
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
fn staging_gets_mtls_only_when_client_ca_is_set() {
    let file = repo().join("config/staging.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let client_ca = |config: &sluice_config::Config| {
        let Receiver::Otlp(otlp) = &config.receivers[&ComponentId::new("otlp", None)];
        otlp.protocols
            .grpc
            .as_ref()
            .unwrap()
            .tls
            .as_ref()
            .unwrap()
            .client_ca_file
            .clone()
    };
    let without = load_documents(vec![(Some(file.clone()), text.clone())], &|_| None).unwrap();
    assert_eq!(client_ca(&without), None);
    let with = load_documents(vec![(Some(file), text)], &|name| {
        (name == "SLUICE_CLIENT_CA").then(|| "/ca.crt".to_owned())
    })
    .unwrap();
    assert_eq!(client_ca(&with).as_deref(), Some(Path::new("/ca.crt")));
}
