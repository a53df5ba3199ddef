//! `tenant_processors` in a running Sluice: the tenant comes from the `X-Scope-OrgID` header
//! (the receiver's tenancy), the chains run the real transform guest, the file exporter shows
//! what came out, and `App::reload` swaps one tenant's chain when its member processor changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::App;

fn transform(value: &str) -> String {
    format!("{{trace_statements: ['set(span.attributes[\"edited_by\"], \"{value}\")']}}")
}

fn config(out: &Path, acme: &str, globex: &str) -> sluice_config::Config {
    let yaml = format!(
        "extensions: {{tenancy: {{}}}}\n\
         receivers: {{otlp: {{tenancy: tenancy, protocols: {{http: {{endpoint: '127.0.0.1:0'}}}}}}}}\n\
         processors:\n  transform/acme: {}\n  transform/globex: {}\n  tenant_processors:\n    \
         tenants: {{acme: {{processors: [transform/acme]}}, globex: {{processors: [transform/globex]}}}}\n\
         exporters: {{file: {{path: '{}'}}}}\n\
         service:\n  extensions: [tenancy]\n  telemetry: {{metrics: {{level: none}}}}\n  pipelines:\n    \
         traces: {{receivers: [otlp], processors: [tenant_processors], exporters: [file]}}\n",
        transform(acme),
        transform(globex),
        out.display()
    );
    sluice_config::load_str(&yaml).unwrap_or_else(|e| panic!("invalid test config: {e}\n{yaml}"))
}

/// Posts one span named `name` for `tenant` (none: no header) and returns its `edited_by`.
async fn roundtrip(app: &App, out: &Path, tenant: Option<&str>, name: &str) -> Option<String> {
    let (_, http) = app.receiver_addrs("otlp");
    let address = http.expect("an http listener");
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"{name}","kind":1,"startTimeUnixNano":"1","endTimeUnixNano":"2"}}]}}]}}]}}"#
    );
    let header = tenant.map_or(String::new(), |t| format!("X-Scope-OrgID: {t}\r\n"));
    let request = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: sluice\r\nContent-Type: application/json\r\n{header}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    for _ in 0..200 {
        let text = std::fs::read_to_string(out).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
            if span["name"] == name {
                let attributes = span["attributes"].as_array().cloned().unwrap_or_default();
                return attributes
                    .iter()
                    .find(|a| a["key"] == "edited_by")
                    .and_then(|a| a["value"]["stringValue"].as_str())
                    .map(str::to_owned);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("span {name} never arrived")
}

fn out_file(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let out = dir.join("out.jsonl");
    let _ = std::fs::remove_file(&out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_sluice_routes_by_tenant_and_reload_swaps_only_the_changed_tenant() {
    let out = out_file("tenant-reload");
    let mut app = App::start(config(&out, "acme", "globex"))
        .await
        .expect("start");
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        roundtrip(&app, &out, Some("acme"), "a1").await,
        some("acme")
    );
    assert_eq!(
        roundtrip(&app, &out, Some("globex"), "g1").await,
        some("globex")
    );
    assert_eq!(
        roundtrip(&app, &out, None, "n1").await,
        None,
        "no chain for other tenants"
    );

    let swapped = tokio::task::block_in_place(|| app.reload(config(&out, "acme-v2", "globex")));
    assert_eq!(
        swapped,
        vec![sluice_config::ComponentId::new("tenant_processors", None)]
    );
    assert_eq!(
        roundtrip(&app, &out, Some("acme"), "a2").await,
        some("acme-v2")
    );
    assert_eq!(
        roundtrip(&app, &out, Some("globex"), "g2").await,
        some("globex")
    );

    // A broken statement for globex: rejected, globex keeps its chain; nothing else changes.
    let swapped =
        tokio::task::block_in_place(|| app.reload(config(&out, "acme-v2", "globex-v2\" oops")));
    assert!(swapped.is_empty(), "{swapped:?}");
    assert_eq!(
        roundtrip(&app, &out, Some("globex"), "g3").await,
        some("globex")
    );
    assert_eq!(
        roundtrip(&app, &out, Some("acme"), "a3").await,
        some("acme-v2")
    );
    app.shutdown(Duration::from_secs(5)).await;
}
