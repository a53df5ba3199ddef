//! Realistic OTLP trace requests, encoded (and compressed, and gRPC-framed) once before the run.

use std::collections::HashSet;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use flate2::Compression;
use flate2::write::GzEncoder;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message;

use crate::cli::Protocol;

/// Spans per trace: one server span and its children.
const SPANS_PER_TRACE: usize = 10;

/// A root span lasts 50 µs plus up to 50 ms, uniformly: a tenth of the traces run longer than
/// seed 002's 45 ms "slow" threshold.
const ROOT_MIN_NANOS: u64 = 50_000;
const ROOT_SPREAD_NANOS: u64 = 50_000_000;

const SPAN_NAMES: &[&str] = &[
    "GET /api/v1/orders/{id}",
    "SELECT orders",
    "redis GET",
    "POST /api/v1/checkout",
    "kafka publish order-events",
    "HTTP GET inventory",
    "render template",
    "grpc payments.Charge",
];

const ATTRIBUTE_KEYS: &[&str] = &[
    "http.request.method",
    "url.path",
    "server.address",
    "user_agent.original",
    "db.system",
    "db.operation.name",
    "net.peer.name",
    "messaging.system",
    "rpc.service",
    "code.function",
    "http.route",
    "client.address",
];

/// The bodies sent, ready to go on the wire.
pub struct Pool {
    /// One body per distinct request: protobuf, gzip-compressed if asked, in a gRPC frame for gRPC.
    pub bodies: Vec<Bytes>,
    /// Where each body's trace ids are (the offsets of their 16 bytes); none in compressed
    /// bodies, whose ids cannot be rewritten in place.
    trace_ids: Vec<Vec<usize>>,
    /// Spans per request.
    pub spans: u64,
    /// Mean protobuf size of a request, before compression.
    pub encoded_bytes: usize,
    /// Mean size of a body on the wire.
    pub wire_bytes: usize,
}

impl Pool {
    pub fn build(
        protocol: Protocol,
        size: usize,
        spans: usize,
        attributes: usize,
        gzip: bool,
    ) -> Pool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut bodies = Vec::with_capacity(size);
        let mut trace_ids = Vec::with_capacity(size);
        let mut encoded_total = 0;
        for index in 0..size {
            let request = request(index as u64, spans, attributes, now);
            let encoded = request.encode_to_vec();
            encoded_total += encoded.len();
            let (payload, offsets) = if gzip {
                (gzip_bytes(&encoded), Vec::new())
            } else {
                let offsets = trace_id_offsets(&request, &encoded);
                (encoded, offsets)
            };
            let (body, header) = match protocol {
                Protocol::Http => (Bytes::from(payload), 0),
                Protocol::Grpc => (grpc_frame(&payload, gzip), GRPC_HEADER),
            };
            bodies.push(body);
            trace_ids.push(offsets.into_iter().map(|at| at + header).collect());
        }
        let wire_total: usize = bodies.iter().map(Bytes::len).sum();
        Pool {
            bodies,
            trace_ids,
            spans: spans as u64,
            encoded_bytes: encoded_total / size.max(1),
            wire_bytes: wire_total / size.max(1),
        }
    }
}

impl Pool {
    /// Body `n` of the endless sequence the clients send together: pool body `n % size`, its
    /// trace ids changed for every pass over the pool (bytes 8..12 XOR the pass number), so that
    /// no trace comes back however long the run (a tail sampler would answer a returning trace
    /// from its decision cache, without evaluating it). Compressed bodies repeat as they are.
    pub fn body(&self, n: usize) -> Bytes {
        let index = n % self.bodies.len();
        let pass = (n / self.bodies.len()) as u32;
        let (body, offsets) = (&self.bodies[index], &self.trace_ids[index]);
        if pass == 0 || offsets.is_empty() {
            return body.clone();
        }
        let mut copy = BytesMut::from(&body[..]);
        for &at in offsets {
            for (byte, mask) in copy[at + 8..at + 12].iter_mut().zip(pass.to_le_bytes()) {
                *byte ^= mask;
            }
        }
        copy.freeze()
    }
}

/// Where the trace ids of `request`'s spans are in its encoding: a `trace_id` field is the
/// tag 0x0a, the length 16, then one of the request's (random) ids.
fn trace_id_offsets(request: &ExportTraceServiceRequest, encoded: &[u8]) -> Vec<usize> {
    let ids: HashSet<&[u8]> = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.trace_id.as_slice())
        .collect();
    encoded
        .windows(18)
        .enumerate()
        .filter(|(_, w)| w[0] == 0x0a && w[1] == 16 && ids.contains(&w[2..]))
        .map(|(at, _)| at + 2)
        .collect()
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::default());
    // Writing to a Vec cannot fail.
    encoder.write_all(data).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Bytes before the message in a gRPC frame.
const GRPC_HEADER: usize = 5;

/// A gRPC length-prefixed message: compressed flag, big-endian length, message.
fn grpc_frame(message: &[u8], compressed: bool) -> Bytes {
    let mut framed = BytesMut::with_capacity(message.len() + GRPC_HEADER);
    framed.put_u8(u8::from(compressed));
    framed.put_u32(message.len() as u32);
    framed.put_slice(message);
    framed.freeze()
}

/// One export request with `spans` spans in traces of ten, all ids derived from `seed`.
pub fn request(
    seed: u64,
    spans: usize,
    attributes: usize,
    now_nanos: u64,
) -> ExportTraceServiceRequest {
    let mut rng = SplitMix(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
    let mut out = Vec::with_capacity(spans);
    let mut trace_id = Vec::new();
    let mut root_id = Vec::new();
    let (mut root_start, mut root_duration) = (0, 0);
    for i in 0..spans {
        let is_root = i % SPANS_PER_TRACE == 0;
        if is_root {
            trace_id = rng.bytes(16);
            root_start = now_nanos.saturating_sub(60_000_000_000) + rng.below(1_000_000_000);
            root_duration = ROOT_MIN_NANOS + rng.below(ROOT_SPREAD_NANOS);
        }
        let span_id = rng.bytes(8);
        // Children run inside their root, so a trace lasts as long as its root span.
        let (start, duration) = if is_root {
            (root_start, root_duration)
        } else {
            let offset = rng.below(root_duration / 2);
            (root_start + offset, 1 + rng.below(root_duration - offset))
        };
        let failed = i % 50 == 49;
        out.push(Span {
            trace_id: trace_id.clone(),
            span_id: span_id.clone(),
            parent_span_id: if is_root { Vec::new() } else { root_id.clone() },
            flags: 0x0000_0101,
            name: SPAN_NAMES[rng.below(SPAN_NAMES.len() as u64) as usize].to_string(),
            kind: if is_root {
                span::SpanKind::Server
            } else {
                span::SpanKind::Client
            } as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration,
            attributes: (0..attributes)
                .map(|a| string_attribute(a, &mut rng))
                .collect(),
            status: Some(if failed {
                Status {
                    message: "upstream request timed out".into(),
                    code: status::StatusCode::Error as i32,
                }
            } else {
                Status {
                    message: String::new(),
                    code: status::StatusCode::Ok as i32,
                }
            }),
            ..Default::default()
        });
        if is_root {
            root_id = span_id;
        }
    }
    let resource = Resource {
        attributes: vec![
            kv("service.name", format!("checkout-{}", seed % 4)),
            kv("service.version", "1.42.0".into()),
            kv("host.name", format!("node-{:04}", seed % 97)),
            kv("deployment.environment.name", "bench".into()),
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "sluice-loadgen".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: out,
                schema_url: String::new(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    }
}

/// A string attribute whose value is 20 bytes.
fn string_attribute(index: usize, rng: &mut SplitMix) -> KeyValue {
    let key = match ATTRIBUTE_KEYS.get(index) {
        Some(key) => (*key).to_string(),
        None => format!("app.attribute.{index}"),
    };
    kv(&key, format!("v-{:018x}", rng.next() >> 8))
}

fn kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

/// Small deterministic generator: distinct ids per pool entry without a `rand` dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_asked_shape_and_distinct_trace_ids() {
        let a = request(0, 1000, 10, 1_700_000_000_000_000_000);
        let b = request(1, 1000, 10, 1_700_000_000_000_000_000);
        let spans = &a.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 1000);
        assert!(
            spans
                .iter()
                .all(|s| s.attributes.len() == 10 && s.trace_id.len() == 16)
        );
        assert_ne!(
            spans[0].trace_id,
            b.resource_spans[0].scope_spans[0].spans[0].trace_id
        );
        // About 460 bytes per span, like the measurements in shared/NOTES.md.
        let per_span = a.encoded_len() / 1000;
        assert!((380..=560).contains(&per_span), "{per_span} bytes per span");
    }

    /// The request in body `n` of `pool`, and its spans' trace ids.
    fn sent(pool: &Pool, n: usize, header: usize) -> (ExportTraceServiceRequest, Vec<Vec<u8>>) {
        let body = pool.body(n);
        let mut request =
            ExportTraceServiceRequest::decode(&body[header..]).expect("a body decodes");
        let mut ids = Vec::new();
        for span in &mut request.resource_spans[0].scope_spans[0].spans {
            ids.push(std::mem::take(&mut span.trace_id));
        }
        (request, ids)
    }

    #[test]
    fn every_pass_over_the_pool_sends_new_trace_ids_and_nothing_else_new() {
        for (protocol, header) in [(Protocol::Http, 0), (Protocol::Grpc, GRPC_HEADER)] {
            let pool = Pool::build(protocol, 3, 100, 2, false);
            assert_eq!(pool.body(1), pool.bodies[1]);
            let (first, first_ids) = sent(&pool, 1, header);
            for pass in 1..3 {
                let (again, ids) = sent(&pool, 1 + 3 * pass, header);
                assert_eq!(again, first, "only trace ids change");
                assert_eq!(ids.len(), 100);
                for (i, id) in ids.iter().enumerate() {
                    assert_eq!(id.len(), 16);
                    assert_ne!(id, &first_ids[i], "span {i}, pass {pass}");
                    // Spans of one trace still share its id.
                    assert_eq!(id, &ids[i - i % SPANS_PER_TRACE]);
                }
            }
            let (_, pass1) = sent(&pool, 4, header);
            let (_, pass2) = sent(&pool, 7, header);
            assert_ne!(pass1, pass2);
        }
        // Compressed bodies cannot be rewritten: they repeat.
        let gzip = Pool::build(Protocol::Http, 2, 10, 1, true);
        assert_eq!(gzip.body(3), gzip.bodies[1]);
    }

    #[test]
    fn traces_last_as_long_as_their_root_and_a_tenth_are_slow() {
        let mut slow = 0;
        let mut traces = 0;
        for seed in 0..20 {
            let r = request(seed, 1000, 0, 1_700_000_000_000_000_000);
            for trace in r.resource_spans[0].scope_spans[0]
                .spans
                .chunks(SPANS_PER_TRACE)
            {
                let root = &trace[0];
                assert!(trace.iter().all(|s| s.trace_id == root.trace_id
                    && s.start_time_unix_nano >= root.start_time_unix_nano
                    && s.end_time_unix_nano <= root.end_time_unix_nano));
                traces += 1;
                slow +=
                    usize::from(root.end_time_unix_nano - root.start_time_unix_nano > 45_000_000);
            }
        }
        // 2,000 traces, each slow with probability 0.1: 200 ± 4 standard deviations (~54).
        assert!(
            (146..=254).contains(&slow),
            "{slow} of {traces} traces slower than 45 ms"
        );
    }

    #[test]
    fn grpc_bodies_are_framed() {
        let pool = Pool::build(Protocol::Grpc, 2, 10, 2, true);
        let body = &pool.bodies[0];
        assert_eq!(body[0], 1);
        assert_eq!(
            u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize,
            body.len() - 5
        );
    }
}
