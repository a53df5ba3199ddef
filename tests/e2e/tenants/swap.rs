//! One tenant's transform swapped live, three times, under a steady load of two tenants: every
//! span arrives exactly once, the swapped tenant's spans carry one version each, and the other
//! tenant's spans all carry its unchanged edit. A broken version for one tenant is rejected
//! while it keeps serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, ensure};
use http::HeaderName;
use serde_json::json;
use sluice_tests::http::{Client, Request};
use sluice_tests::{Setup, fake};
use tokio::sync::Mutex;

use super::{edits, names, stamp, tenancy, wait_for_all};

const ORG: HeaderName = HeaderName::from_static("x-scope-orgid");

#[tokio::test(flavor = "multi_thread")]
async fn swapping_one_tenant_under_load_loses_nothing_and_leaves_the_other_alone() -> Result<()> {
    let mut setup = Setup::new()?;
    tenancy(&mut setup, json!({}));
    setup.config["processors"]["transform/a"] = stamp("a-v0");
    setup.config["processors"]["transform/b"] = stamp("b-v0");
    setup.traces_processor(
        "tenant_processors",
        json!({ "tenants": {
            "a": { "processors": ["transform/a"] },
            "b": { "processors": ["transform/b"] },
        }}),
    );
    let mut config = setup.config.clone();
    let mut sluice = setup.start().await?;

    let stop = Arc::new(AtomicBool::new(false));
    let sent: Arc<Mutex<Vec<(String, &'static str)>>> = Arc::default();
    let mut senders = tokio::task::JoinSet::new();
    for tenant in ["a", "b"] {
        let (stop, sent, http) = (stop.clone(), sent.clone(), Client::plaintext(sluice.http));
        senders.spawn(async move {
            let mut requests = 0usize;
            while !stop.load(Ordering::Relaxed) || requests < 20 {
                let request = fake::traces(1, 10, 1);
                let response = http
                    .send(&Request::protobuf("/v1/traces", &request).header(ORG, tenant))
                    .await?;
                anyhow::ensure!(response.status == 200, "{tenant}: {}", response.text());
                sent.lock()
                    .await
                    .extend(names(&request).into_iter().map(|n| (n, tenant)));
                requests += 1;
            }
            Ok::<_, anyhow::Error>(requests)
        });
    }

    let mut swaps = 0;
    for version in 1..=3 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        config["processors"]["transform/a"] = stamp(&format!("a-v{version}"));
        let swapped = sluice.reload(&config)?;
        ensure!(
            !swapped.is_empty(),
            "reload swapped nothing for version {version}"
        );
        swaps += 1;
    }
    // A broken statement for b: rejected, b keeps v0.
    let mut broken = config.clone();
    broken["processors"]["transform/b"] =
        json!({ "trace_statements": ["set(attributes[\"x\"], "] });
    let _ = sluice.reload(&broken);
    // Keep sending until the last version has served (bounded), however slow the machine.
    let served = sluice_tests::poll(sluice_tests::PATIENCE, || async {
        let output = sluice.output().ok()?;
        edits(&output)
            .iter()
            .any(|(_, e)| e.as_deref() == Some("a-v3"))
            .then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    ensure!(served.is_some(), "the last version of a never served");
    while let Some(result) = senders.join_next().await {
        result??;
    }
    ensure!(swaps == 3);

    let sent = sent.lock().await.clone();
    let wanted: Vec<String> = sent.iter().map(|(n, _)| n.clone()).collect();
    let output = wait_for_all(&sluice, &wanted).await?;
    let seen = edits(&output);
    ensure!(
        seen.len() == sent.len(),
        "{} spans arrived, {} sent",
        seen.len(),
        sent.len()
    );
    let mut versions = std::collections::BTreeSet::new();
    for (name, tenant) in &sent {
        let edit: Vec<_> = seen
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
            .collect();
        ensure!(edit.len() == 1, "span {name} arrived {} times", edit.len());
        let edit = edit[0].clone().unwrap_or_default();
        match *tenant {
            "b" => ensure!(edit == "b-v0", "tenant b's span {name} has {edit:?}"),
            _ => {
                ensure!(
                    edit.starts_with("a-v"),
                    "tenant a's span {name} has {edit:?}"
                );
                versions.insert(edit);
            }
        }
    }
    ensure!(
        versions.contains("a-v3"),
        "the last version of a never served: {versions:?}"
    );
    sluice.stop().await;
    Ok(())
}
