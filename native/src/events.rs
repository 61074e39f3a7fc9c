//! Event sinks and outbox publishing. Events are written to the outbox in the same
//! transaction as the state change, then published in order; publishing is tried for a
//! bounded time and otherwise left to `events flush` or the next run: an outage delays
//! events, never loses them and never blocks a migration.

use crate::eventbridge::EventBridgeSink;
use crate::store::Store;
use serde_json::Value;
use std::io::Write;
use std::time::{Duration, Instant};

/// Where lifecycle events go.
pub trait EventSink {
    /// Publishes envelopes in order; returns how many (a prefix) were published.
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String>;
    /// Whether this sink records events at all (`none` does not: nothing is left pending).
    fn enabled(&self) -> bool {
        true
    }
}

/// `stdout`: one JSON envelope a line.
pub struct StdoutSink;

impl EventSink for StdoutSink {
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        let mut out = std::io::stdout().lock();
        for e in envelopes {
            writeln!(out, "{e}").map_err(|e| format!("cannot write events to stdout: {e}"))?;
        }
        out.flush().map_err(|e| e.to_string())?;
        Ok(envelopes.len())
    }
}

/// `jsonl:PATH`: one JSON envelope a line, appended.
pub struct JsonlSink {
    /// The file.
    pub path: String,
}

impl EventSink for JsonlSink {
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)
            .map_err(|e| format!("cannot open {}: {e}", self.path))?;
        // Whole lines only: a line torn by an earlier failed write is cut off first, and
        // a write that fails part way (disk full, file size limit) is cut back to where
        // it started, so every line stays one parseable envelope.
        let start =
            complete_length(&mut f).map_err(|e| format!("cannot read {}: {e}", self.path))?;
        let mut buf = String::new();
        for e in envelopes {
            buf.push_str(&e.to_string());
            buf.push('\n');
        }
        if let Err(e) = f.write_all(buf.as_bytes()).and_then(|()| f.flush()) {
            if let Some(start) = start {
                let _ = f.set_len(start);
            }
            return Err(format!("cannot write {}: {e}", self.path));
        }
        Ok(envelopes.len())
    }
}

/// The length of a regular file up to its last complete line, after cutting off a torn
/// last line; `None` for what is not a regular file (a pipe, `/dev/full`).
fn complete_length(f: &mut std::fs::File) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Ok(None);
    }
    let len = meta.len();
    if len == 0 {
        return Ok(Some(0));
    }
    // Look back for the last newline, a block at a time.
    let mut end = len;
    let mut block = vec![0u8; 4096];
    while end > 0 {
        let n = block.len().min(end as usize);
        f.seek(SeekFrom::Start(end - n as u64))?;
        f.read_exact(&mut block[..n])?;
        if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
            let complete = end - n as u64 + i as u64 + 1;
            if complete != len {
                f.set_len(complete)?;
            }
            return Ok(Some(complete));
        }
        end -= n as u64;
    }
    f.set_len(0)?;
    Ok(Some(0))
}

/// `none`: publishes nothing and leaves nothing pending (history keeps the transitions).
pub struct NoneSink;

impl EventSink for NoneSink {
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        Ok(envelopes.len())
    }
    fn enabled(&self) -> bool {
        false
    }
}

/// A sink from its command-line name. `event_bus_name` is the dataset's `eventBusName`
/// (or `events flush --event-bus`), used by `eventbridge` (default bus when `None`).
pub fn sink_from_arg(
    arg: &str,
    event_bus_name: Option<&str>,
) -> Result<Box<dyn EventSink>, String> {
    match arg {
        "stdout" => Ok(Box::new(StdoutSink)),
        "none" => Ok(Box::new(NoneSink)),
        "eventbridge" => Ok(Box::new(EventBridgeSink::new(event_bus_name)?)),
        other => match other.strip_prefix("jsonl:") {
            Some(path) if !path.is_empty() => Ok(Box::new(JsonlSink {
                path: path.to_string(),
            })),
            _ => Err(format!(
                "unknown event sink {other:?}; use stdout, jsonl:PATH, eventbridge or none"
            )),
        },
    }
}

/// Publishes a dataset's pending events (or all, with `None`) in order for at most
/// `budget`. Returns how many were published; a sink failure is reported on stderr and
/// leaves the rest pending.
pub fn publish_pending(
    store: &mut dyn Store,
    sink: &mut dyn EventSink,
    dataset_id: Option<&str>,
    budget: Duration,
) -> Result<usize, String> {
    let start = Instant::now();
    let mut published = 0;
    loop {
        let mut failure: Option<String> = None;
        let mut publish = |envelopes: &[Value]| match sink.publish(envelopes) {
            Ok(n) => n,
            Err(e) => {
                failure = Some(e);
                0
            }
        };
        let claimed = store
            .publish_claimed(dataset_id, 10, &mut publish)
            .map_err(|e| e.to_string())?;
        let Some((batch, n)) = claimed else {
            // Another publisher holds the claim and publishes in order; wait for it
            // within the budget, so that what is left afterwards really is pending.
            if start.elapsed() >= budget {
                return Ok(published);
            }
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        published += n;
        if let Some(e) = failure {
            eprintln!("warning: events not published yet ({e}); they stay in the outbox for `depot-migrate events flush` or the next run");
            return Ok(published);
        }
        if batch == 0 {
            return Ok(published);
        }
        if n < batch || start.elapsed() >= budget {
            eprintln!("warning: some events are still pending; `depot-migrate events flush` publishes them");
            return Ok(published);
        }
    }
}
