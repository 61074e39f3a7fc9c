//! An event sink that keeps what it is given in memory: for tests of the lifecycle that
//! run in the process (no stdout to parse), and for callers that want the envelopes.

use crate::events::EventSink;
use serde_json::Value;

/// Keeps every published envelope, in order. Its outbox destination is `memory`.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// The envelopes published so far.
    pub events: Vec<Value>,
    /// When set, every publish fails with this message (an outage: events stay pending).
    pub fail_with: Option<String>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// The `detail.event` of each envelope (`attempted`, `deployed`, …).
    pub fn names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| e["detail"]["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }

    /// Takes the envelopes published so far, leaving the sink empty.
    pub fn take(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }
}

impl EventSink for MemorySink {
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        if let Some(m) = &self.fail_with {
            return Err(m.clone());
        }
        self.events.extend_from_slice(envelopes);
        Ok(envelopes.len())
    }
    fn destination(&self, _: Option<&str>) -> String {
        "memory".into()
    }
}
