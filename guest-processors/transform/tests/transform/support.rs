//! Helpers shared by the transform tests.

use serde_json::Value as Json;
use sluice_guest_sdk::ConfigProblem;
use sluice_guest_sdk::otlp::Batch;
use sluice_guest_sdk::testing::{Harness, Processed};
use sluice_guest_transform::Transform;

pub fn harness(config: Json) -> Harness<Transform> {
    match Harness::new(&config.to_string()) {
        Ok(h) => h,
        Err(problems) => panic!("config rejected: {problems:#?}"),
    }
}

pub fn problems(config: Json) -> Vec<ConfigProblem> {
    match Harness::<Transform>::new(&config.to_string()) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(p) => p,
    }
}

/// Processes `batch` and returns the replacement; panics if the batch was not changed.
pub fn changed<B: Batch + std::fmt::Debug>(h: &mut Harness<Transform>, batch: &B) -> B {
    match h.process(batch) {
        Ok(Processed::Replaced(b)) => b,
        other => panic!("expected a replaced batch, got {other:?}"),
    }
}
