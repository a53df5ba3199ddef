use prost::Message;

use super::*;
use crate::otlp::trace::Span;
use crate::otlp::{ExportTraceServiceRequest, Resource, ResourceSpans, ScopeSpans};

fn request() -> ExportTraceServiceRequest {
    let span = |name: &str| Span {
        name: name.into(),
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        parent_span_id: vec![3; 8],
        start_time_unix_nano: 5,
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: None,
                scope_spans: vec![ScopeSpans {
                    spans: vec![span("a"), span("b")],
                    schema_url: "s".into(),
                    ..Default::default()
                }],
                schema_url: "r".into(),
            },
            ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span("c")],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

#[test]
fn sizes_match_what_is_written() {
    for len in [0usize, 1, 127, 128, 20_000] {
        let mut buf = Vec::new();
        write_len_field(&mut buf, 9, &vec![0; len]);
        assert_eq!(buf.len(), len_field_size(9, len));
        let mut buf = Vec::new();
        write_varint(&mut buf, len as u64);
        assert_eq!(buf.len(), varint_len(len as u64));
    }
}

#[test]
fn varints_round_trip() {
    for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
        let mut buf = Vec::new();
        write_varint(&mut buf, v);
        let mut pos = 0;
        assert_eq!(read_varint(&buf, &mut pos), Ok(v));
        assert_eq!(pos, buf.len());
    }
    assert_eq!(read_varint(&[0x80], &mut 0), Err(Malformed));
    assert_eq!(read_varint(&[0xff; 11], &mut 0), Err(Malformed));
}

#[test]
fn rewrite_rebuilds_only_what_the_leaf_changed() {
    let original = request();
    let bytes = original.encode_to_vec();
    let mut bufs = vec![Vec::new(); 3];
    // Strip parent_span_id (4) from every span.
    let mut leaf = RetainFields(|n| n != 4);
    assert_eq!(
        rewrite(&bytes, &[1, 2, 2], Last::Repeated, &mut bufs, &mut leaf),
        Ok(true)
    );
    let back = ExportTraceServiceRequest::decode(bufs[0].as_slice()).expect("decodes");
    let mut expected = original.clone();
    for rs in &mut expected.resource_spans {
        for ss in &mut rs.scope_spans {
            for span in &mut ss.spans {
                span.parent_span_id.clear();
            }
        }
    }
    assert_eq!(back, expected);

    // Nothing to strip the second time.
    let stripped = bufs[0].clone();
    assert_eq!(
        rewrite(&stripped, &[1, 2, 2], Last::Repeated, &mut bufs, &mut leaf),
        Ok(false)
    );
}

#[test]
fn an_absent_singular_message_can_be_created() {
    let bytes = request().encode_to_vec();
    let mut bufs = vec![Vec::new(); 2];
    // Resource.dropped_attributes_count = 2, set to 7 where the resource is absent.
    struct Create(usize);
    impl Edit for Create {
        fn plan(&mut self, msg: Option<&[u8]>) -> Result<Option<usize>, Malformed> {
            Ok(msg.is_none().then_some(2))
        }
        fn write(&mut self, _: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), Malformed> {
            self.0 += 1;
            out.extend_from_slice(&[2 << 3, 7]);
            Ok(())
        }
    }
    let mut leaf = Create(0);
    assert_eq!(
        rewrite(&bytes, &[1, 1], Last::Singular, &mut bufs, &mut leaf),
        Ok(true)
    );
    assert_eq!(leaf.0, 1);
    let back = ExportTraceServiceRequest::decode(bufs[0].as_slice()).expect("decodes");
    let resources: Vec<_> = back
        .resource_spans
        .iter()
        .map(|rs| rs.resource.clone())
        .collect();
    assert_eq!(
        resources,
        vec![
            Some(Resource {
                dropped_attributes_count: 7,
                ..Default::default()
            }),
            Some(Resource::default())
        ]
    );
}

#[test]
fn broken_framing_is_an_error_never_a_panic() {
    let bytes = request().encode_to_vec();
    let mut bufs = vec![Vec::new(); 3];
    let mut leaf = RetainFields(|_| false);
    for cut in 0..bytes.len() {
        let _ = rewrite(
            &bytes[..cut],
            &[1, 2, 2],
            Last::Repeated,
            &mut bufs,
            &mut leaf,
        );
    }
    assert_eq!(
        rewrite(
            b"\x0a\x05\x12",
            &[1, 2, 2],
            Last::Repeated,
            &mut bufs,
            &mut leaf
        ),
        Err(Malformed)
    );
    // Too few buffers for the path.
    assert_eq!(
        rewrite(
            &bytes,
            &[1, 2, 2],
            Last::Repeated,
            &mut bufs[..2],
            &mut leaf
        ),
        Err(Malformed)
    );
}

#[test]
fn filter_items_keeps_what_a_decoded_retain_keeps() {
    let original = request();
    let bytes = original.encode_to_vec();
    let mut out = Vec::new();
    // Keep spans "a" and "b" (the first resource), drop "c" (and its resource).
    let mut keep = |span: &[u8]| {
        let span = Span::decode(span).map_err(|_| Malformed)?;
        Ok(span.name != "c")
    };
    filter_items(&bytes, &mut keep, &mut out).expect("filters");
    let back = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
    let mut expected = original.clone();
    expected.resource_spans.truncate(1);
    assert_eq!(back, expected);

    let mut none = |_: &[u8]| Ok(false);
    filter_items(&bytes, &mut none, &mut out).expect("filters");
    assert!(out.is_empty());
    for cut in 0..bytes.len() {
        let _ = filter_items(&bytes[..cut], &mut none, &mut out);
    }
}

#[test]
fn filter_items_keeps_what_a_decoded_retain_keeps_for_every_choice() {
    // Three resources of three scopes of 0..3 spans, with schema URLs on both levels; spans
    // long enough (200-byte names) that kept lengths need two-byte varints.
    let span = |i: usize| Span {
        name: format!("{i:0>200}"),
        ..Default::default()
    };
    let mut next = 0;
    let original = ExportTraceServiceRequest {
        resource_spans: (0..3)
            .map(|r| ResourceSpans {
                resource: (r != 1).then(Resource::default),
                scope_spans: (0..3)
                    .map(|s| ScopeSpans {
                        spans: (0..(r + s) % 3)
                            .map(|_| {
                                next += 1;
                                span(next)
                            })
                            .collect(),
                        schema_url: format!("s{r}{s}"),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: format!("r{r}"),
            })
            .collect(),
    };
    let bytes = original.encode_to_vec();
    let mut out = Vec::new();
    // Every subset of the spans, as a bit mask over their numbers.
    for mask in 0u32..(1 << next) {
        let kept = |name: &str| {
            name.trim_start_matches('0')
                .parse::<u32>()
                .is_ok_and(|i| mask & (1 << (i - 1)) != 0)
        };
        let mut keep = |span: &[u8]| {
            let span = Span::decode(span).map_err(|_| Malformed)?;
            Ok(kept(&span.name))
        };
        filter_items(&bytes, &mut keep, &mut out).expect("filters");
        let mut expected = original.clone();
        for rs in &mut expected.resource_spans {
            for ss in &mut rs.scope_spans {
                ss.spans.retain(|s| kept(&s.name));
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        expected
            .resource_spans
            .retain(|rs| !rs.scope_spans.is_empty());
        let back = ExportTraceServiceRequest::decode(out.as_slice()).expect("decodes");
        assert_eq!(back, expected, "mask {mask:b}");
    }
}
