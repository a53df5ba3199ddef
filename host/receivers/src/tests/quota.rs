//! Per-tenant quotas on both protocols: 429 / ResourceExhausted with the time to wait, other
//! tenants unaffected, one limiter shared by every receiver, concurrency caps, metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use sluice_config::{ComponentId, TenancySettings, TenantLimits, TenantSettings, TenantSource};
use sluice_pipeline::metrics::Metrics;
use tonic::Code;

use super::grpc::channel;
use super::tenancy::{metric, tenancy, tenants, traces_of};
use super::{Answer, Harness, PROTOBUF, Recorder, fixtures, post, settings};
use crate::rpc_status::{self, Status};
use crate::{Authenticators, Tenancies, Tenancy};

/// Tenants named by `X-Scope-OrgID`; every tenant may send 10 spans per second, "vip" any.
fn limited(limits: TenantLimits) -> TenancySettings {
    TenancySettings {
        limits,
        tenants: BTreeMap::from([(
            "vip".to_owned(),
            TenantSettings {
                limits: TenantLimits {
                    spans_per_second: Some(0),
                    ..Default::default()
                },
            },
        )]),
        ..tenancy(vec![TenantSource::Header("X-Scope-OrgID".into())])
    }
}

fn spans_per_second(rate: u64) -> TenantLimits {
    TenantLimits {
        spans_per_second: Some(rate),
        ..Default::default()
    }
}

async fn send_spans(harness: &Harness, tenant: &str, spans: usize) -> Answer {
    post(
        harness.http(),
        "/v1/traces",
        &[PROTOBUF, ("x-scope-orgid", tenant)],
        fixtures::traces(spans, 0).encode_to_vec(),
    )
    .await
}

async fn grpc_spans(
    addr: std::net::SocketAddr,
    tenant: &str,
    spans: usize,
) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(fixtures::traces(spans, 0));
    request
        .metadata_mut()
        .insert("x-scope-orgid", tenant.parse().unwrap());
    TraceServiceClient::new(channel(addr).await)
        .export(request)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_tenant_over_its_rate_gets_429_with_retry_after_while_others_get_200() {
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &limited(spans_per_second(10)),
    )
    .await;
    // 50 spans pass on a full bucket (capacity 10) and leave a debt of 40: 4 s.
    assert_eq!(send_spans(&harness, "greedy", 50).await.status, 200);
    let refused = send_spans(&harness, "greedy", 5).await;
    assert_eq!(refused.status, 429);
    let seconds: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=4).contains(&seconds), "Retry-After {seconds}");
    let status = Status::decode(&refused.body[..]).unwrap();
    assert_eq!(status.code, 8);
    assert!(
        status
            .message
            .starts_with("tenant \"greedy\" is over its spans_per_second limit (10/s)"),
        "{}",
        status.message
    );
    assert_eq!(
        rpc_status::retry_delay(&refused.body),
        Some(Duration::from_secs(seconds))
    );

    // Other tenants at the same moment: their own bucket, or no limit at all.
    assert_eq!(send_spans(&harness, "calm", 5).await.status, 200);
    assert_eq!(send_spans(&harness, "vip", 500).await.status, 200);
    assert_eq!(tenants(&recorder), ["greedy", "calm", "vip"]);

    let accepted = |t: &str| {
        metric(
            &harness,
            &format!("sluice_tenant_accepted_spans_total{{tenant=\"{t}\"}}"),
        )
    };
    assert_eq!(
        (accepted("greedy"), accepted("calm"), accepted("vip")),
        (50, 5, 500)
    );
    let limited = "sluice_tenant_refused_spans_total{tenant=\"greedy\",reason=\"rate_limit\"}";
    assert_eq!(metric(&harness, limited), 5);
    assert_eq!(harness.counter("refused_spans", "http"), 5);
}

#[tokio::test]
async fn grpc_over_quota_is_resource_exhausted_with_retry_info_and_the_limit_is_shared() {
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &limited(spans_per_second(10)),
    )
    .await;
    // Spent over HTTP, refused over gRPC: both protocols share the tenant's bucket.
    assert_eq!(send_spans(&harness, "greedy", 30).await.status, 200);
    let status = grpc_spans(harness.grpc(), "greedy", 1).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(status.message().contains("spans_per_second"), "{status}");
    let delay = rpc_status::retry_delay(status.details()).expect("a RetryInfo detail");
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&delay),
        "{delay:?}"
    );
    grpc_spans(harness.grpc(), "calm", 3)
        .await
        .expect("another tenant passes");
    assert_eq!(tenants(&recorder), ["greedy", "calm"]);
}

#[tokio::test]
async fn two_receivers_naming_one_tenancy_share_its_quotas() {
    let metrics = Metrics::new();
    let id = ComponentId::new("tenancy", None);
    let mut tenancies = Tenancies::new();
    let settings_ = limited(spans_per_second(10));
    tenancies.insert(
        id.clone(),
        Arc::new(Tenancy::new(&id, &settings_, &metrics)),
    );
    let mut first = settings(|_, _| {});
    first.tenancy = Some(id.clone());
    let recorder = Recorder::new();
    let start = |name: &'static str| {
        let receiver = ComponentId::new("otlp", Some(name));
        let settings = first.clone();
        let consumers = recorder.consumers();
        let tenancies = &tenancies;
        let metrics = &metrics;
        async move {
            crate::start(
                &receiver,
                &settings,
                consumers,
                &Authenticators::new(),
                tenancies,
                metrics,
            )
            .await
            .unwrap()
        }
    };
    let a = start("a").await;
    let b = start("b").await;
    let status = |addr| async move {
        post(
            addr,
            "/v1/traces",
            &[PROTOBUF, ("x-scope-orgid", "greedy")],
            fixtures::traces(20, 0).encode_to_vec(),
        )
        .await
        .status
    };
    assert_eq!(status(a.http_addr().unwrap()).await, 200);
    assert_eq!(status(b.http_addr().unwrap()).await, 429);
}

#[tokio::test]
async fn bytes_per_second_counts_the_request_as_received() {
    let recorder = Recorder::new();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &limited(TenantLimits {
            bytes_per_second: Some(1000),
            ..Default::default()
        }),
    )
    .await;
    // ~5 kB of spans on a 1 kB/s budget.
    assert_eq!(send_spans(&harness, "big", 50).await.status, 200);
    let refused = send_spans(&harness, "big", 1).await;
    assert_eq!(refused.status, 429);
    let message = Status::decode(&refused.body[..]).unwrap().message;
    assert!(
        message.contains("bytes_per_second limit (1000 bytes/s)"),
        "{message}"
    );
    let series = "sluice_tenant_refused_spans_total{tenant=\"big\",reason=\"byte_rate_limit\"}";
    assert_eq!(metric(&harness, series), 1);
}

#[tokio::test]
async fn a_request_split_across_tenants_is_refused_whole_when_one_is_over() {
    let recorder = Recorder::new();
    let settings_ = TenancySettings {
        sources: vec![TenantSource::ResourceAttribute("tenant.id".into())],
        ..limited(spans_per_second(10))
    };
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &settings_,
    )
    .await;
    let send = |resources: &'static [(Option<&'static str>, usize)]| {
        post(
            harness.http(),
            "/v1/traces",
            &[PROTOBUF],
            traces_of(resources).encode_to_vec(),
        )
    };
    assert_eq!(send(&[(Some("over"), 30)]).await.status, 200);
    assert_eq!(
        send(&[(Some("fine"), 10), (Some("over"), 1)]).await.status,
        429
    );
    // "fine" lost nothing from its bucket: a full 10 still passes.
    assert_eq!(send(&[(Some("fine"), 10)]).await.status, 200);
    assert_eq!(tenants(&recorder), ["over", "fine"]);
    let series = "sluice_tenant_refused_spans_total{tenant=\"fine\",reason=\"rate_limit\"}";
    assert_eq!(metric(&harness, series), 10);
}

#[tokio::test]
async fn concurrent_requests_over_the_cap_are_refused_until_one_finishes() {
    let recorder = Recorder::holding();
    let harness = Harness::start_with_tenancy(
        settings(|_, _| {}),
        recorder.consumers(),
        &Authenticators::new(),
        &limited(TenantLimits {
            max_concurrent_requests: Some(1),
            ..Default::default()
        }),
    )
    .await;
    let addr = harness.http();
    let first = tokio::spawn(async move {
        post(
            addr,
            "/v1/traces",
            &[PROTOBUF, ("x-scope-orgid", "busy")],
            fixtures::traces(1, 0).encode_to_vec(),
        )
        .await
        .status
    });
    recorder.entered.notified().await;
    // Bounded: were the cap not applied, this request would wait in the held pipeline.
    let refused = tokio::time::timeout(Duration::from_secs(30), send_spans(&harness, "busy", 1))
        .await
        .expect("refused at once, not held in the pipeline");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("1"));
    let status = grpc_spans(harness.grpc(), "busy", 1).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(
        status.message().contains("max_concurrent_requests"),
        "{status}"
    );

    recorder.release.notify_one();
    assert_eq!(first.await.unwrap(), 200);
    let again = tokio::spawn(async move {
        post(
            addr,
            "/v1/traces",
            &[PROTOBUF, ("x-scope-orgid", "busy")],
            fixtures::traces(1, 0).encode_to_vec(),
        )
        .await
        .status
    });
    recorder.entered.notified().await;
    recorder.release.notify_one();
    assert_eq!(again.await.unwrap(), 200);
    let series = "sluice_tenant_refused_spans_total{tenant=\"busy\",reason=\"concurrency\"}";
    assert_eq!(metric(&harness, series), 2);
}
