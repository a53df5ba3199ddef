//! Splitting series and metadata into requests below `max_batch_size_bytes`, as the
//! Collector's `batchTimeSeries` (`exporter/prometheusremotewriteexporter/helper.go`): series
//! first, then metadata in requests of their own. A request is closed before the item that
//! would make its protobuf size reach the limit, so every request stays below it; a single
//! item at or above the limit travels alone (the Collector would send an empty request first).

use prost::Message;

use super::proto::{MetricMetadata, TimeSeries, WriteRequest};

/// Bytes `item` adds to a `WriteRequest` as field `tag` (key, length and body).
fn field_len<M: Message>(tag: u32, item: &M) -> usize {
    prost::encoding::message::encoded_len(tag, item)
}

fn split<M: Message>(
    items: Vec<M>,
    tag: u32,
    max: usize,
    wrap: impl Fn(Vec<M>) -> WriteRequest,
) -> Vec<WriteRequest> {
    let mut requests = Vec::new();
    let mut current: Vec<M> = Vec::new();
    let mut size = 0usize;
    for item in items {
        let len = field_len(tag, &item);
        if !current.is_empty() && size + len >= max {
            requests.push(wrap(std::mem::take(&mut current)));
            size = 0;
        }
        size += len;
        current.push(item);
    }
    if !current.is_empty() {
        requests.push(wrap(current));
    }
    requests
}

/// The requests for `series` then `metadata`, each request's encoding below `max` bytes.
pub(crate) fn batch(
    series: Vec<TimeSeries>,
    metadata: Vec<MetricMetadata>,
    max: usize,
) -> Vec<WriteRequest> {
    let mut requests = split(series, 1, max, |timeseries| WriteRequest {
        timeseries,
        metadata: Vec::new(),
    });
    requests.extend(split(metadata, 3, max, |metadata| WriteRequest {
        timeseries: Vec::new(),
        metadata,
    }));
    requests
}
