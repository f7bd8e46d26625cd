//! The sequencer's and the inbox writer's settings: `[pipeline]` in the config.

use serde::{Deserialize, Serialize};

use crate::settings::{invalid, ConfigError};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub reorder_window_ms: i64,
    pub batch_size: i64,
    pub tick_ms: u64,
    pub lease_ms: i64,
    pub release_holds_on_remove: bool,
    pub group_commit_max: usize,
    /// A batch that fails this many times in a row is retried one event at a time, and
    /// an event that fails this many times alone goes to review (`processing_failed`).
    pub max_batch_failures: u32,
}

pub fn validate(pipeline: &PipelineConfig) -> Result<(), ConfigError> {
    if !(0..=60_000).contains(&pipeline.reorder_window_ms) {
        return Err(invalid(
            "pipeline.reorder_window_ms",
            "it must be 0 to 60000",
        ));
    }
    if !(1..=5_000).contains(&pipeline.batch_size) {
        return Err(invalid("pipeline.batch_size", "it must be 1 to 5000"));
    }
    if pipeline.tick_ms == 0 {
        return Err(invalid("pipeline.tick_ms", "it must be at least 1"));
    }
    if pipeline.lease_ms < 1000 {
        return Err(invalid("pipeline.lease_ms", "it must be at least 1000"));
    }
    if !(1..=100).contains(&pipeline.max_batch_failures) {
        return Err(invalid(
            "pipeline.max_batch_failures",
            "it must be 1 to 100",
        ));
    }
    if pipeline.group_commit_max == 0 {
        return Err(invalid(
            "pipeline.group_commit_max",
            "it must be at least 1",
        ));
    }
    Ok(())
}
