//! Event sinks and outbox publishing. Events are written to the outbox in the same
//! transaction as the state change, then published in order; publishing is tried for a
//! bounded time and otherwise left to `events flush` or the next run: an outage delays
//! events, never loses them and never blocks a migration.
//!
//! Each outbox row records its destination when it is written (`stdout`, `jsonl:PATH`,
//! `eventbridge:BUS`, the bus being the dataset's `eventBusName`): a run publishes only
//! the rows meant for its own sink, and `events flush` delivers each row to the
//! destination recorded for it. Delivery is at least once (a crash between publishing
//! and marking a row published sends it again): consumers deduplicate on
//! `detail.eventId`.

use crate::store::{DestinationFilter, Store};
use serde_json::Value;
use std::collections::BTreeMap;
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
    /// The destination recorded on a new outbox row of a dataset whose `eventBusName` is
    /// `dataset_bus`.
    fn destination(&self, dataset_bus: Option<&str>) -> String;
    /// The outbox rows this sink publishes.
    fn filter(&self) -> DestinationFilter {
        DestinationFilter {
            value: self.destination(None),
            prefix: false,
            legacy: true,
        }
    }
    /// Publishes envelopes recorded for `destination` (`None`: written before
    /// destinations were recorded); returns how many (a prefix) were published.
    fn publish_to(
        &mut self,
        destination: Option<&str>,
        envelopes: &[Value],
    ) -> Result<usize, String> {
        let _ = destination;
        self.publish(envelopes)
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
    fn destination(&self, _: Option<&str>) -> String {
        "stdout".into()
    }
}

/// `stdout` when the command's own result is a JSON document on stdout (`--output
/// json`): the events go to standard error instead, one envelope a line, so that stdout
/// stays one parseable document. The rows are still recorded for `stdout`.
pub struct StderrSink;

impl EventSink for StderrSink {
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        let mut out = std::io::stderr().lock();
        for e in envelopes {
            writeln!(out, "{e}").map_err(|e| format!("cannot write events to stderr: {e}"))?;
        }
        Ok(envelopes.len())
    }
    fn destination(&self, _: Option<&str>) -> String {
        "stdout".into()
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
    fn destination(&self, _: Option<&str>) -> String {
        format!("jsonl:{}", self.path)
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
    fn destination(&self, _: Option<&str>) -> String {
        "none".into()
    }
}

/// Makes a sink from its command-line name, the dataset's `eventBusName` and an explicit
/// `--event-bus` (`depot_migrate_aws::sinks::sink_with_override`, which adds
/// `eventbridge` to [`local_sink`]).
pub type SinkFactory = fn(&str, Option<&str>, Option<&str>) -> Result<Box<dyn EventSink>, String>;

/// A sink that needs no AWS, from its command-line name: `stdout`, `none` or
/// `jsonl:PATH`. `eventbridge` is `depot_migrate_aws::sinks`; any other name is an error.
pub fn local_sink(arg: &str) -> Result<Box<dyn EventSink>, String> {
    match arg {
        "stdout" => Ok(Box::new(StdoutSink)),
        "none" => Ok(Box::new(NoneSink)),
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

/// The sink of `stdout` for a command whose result is `--output json`: standard error.
pub fn json_safe(arg: &str, sink: Box<dyn EventSink>, json_output: bool) -> Box<dyn EventSink> {
    if json_output && arg == "stdout" {
        Box::new(StderrSink)
    } else {
        sink
    }
}

/// `events flush` without `--events`: every row to the destination recorded for it (a
/// sink per destination, made on first use). Rows written before destinations were
/// recorded are left pending (`--events` says where they go).
pub struct RecordedDestinations {
    make: SinkFactory,
    sinks: BTreeMap<String, Box<dyn EventSink>>,
    bus_override: Option<String>,
    json_output: bool,
}

impl RecordedDestinations {
    /// Routes by recorded destination, making each sink with `make`; `bus_override` is
    /// `--event-bus`.
    pub fn new(
        make: SinkFactory,
        bus_override: Option<&str>,
        json_output: bool,
    ) -> RecordedDestinations {
        RecordedDestinations {
            make,
            sinks: BTreeMap::new(),
            bus_override: bus_override.map(str::to_string),
            json_output,
        }
    }

    fn sink(&mut self, destination: &str) -> Result<&mut Box<dyn EventSink>, String> {
        if !self.sinks.contains_key(destination) {
            let (kind, bus) = match destination.strip_prefix("eventbridge:") {
                Some(bus) => ("eventbridge", Some(bus)),
                None => (destination, None),
            };
            let sink = (self.make)(kind, bus, self.bus_override.as_deref())?;
            let sink = json_safe(kind, sink, self.json_output);
            self.sinks.insert(destination.to_string(), sink);
        }
        self.sinks
            .get_mut(destination)
            .ok_or_else(|| "no sink".to_string())
    }
}

impl EventSink for RecordedDestinations {
    fn publish(&mut self, _: &[Value]) -> Result<usize, String> {
        Err("events without a recorded destination: pass --events SINK".into())
    }
    fn destination(&self, _: Option<&str>) -> String {
        String::new()
    }
    fn filter(&self) -> DestinationFilter {
        DestinationFilter {
            value: String::new(),
            prefix: true,
            legacy: false,
        }
    }
    fn publish_to(
        &mut self,
        destination: Option<&str>,
        envelopes: &[Value],
    ) -> Result<usize, String> {
        match destination {
            Some(d) => self.sink(d)?.publish_to(Some(d), envelopes),
            None => self.publish(envelopes),
        }
    }
}

/// `events flush --events SINK`: every pending row to SINK, whatever destination was
/// recorded for it, with a warning (once) when that differs.
pub struct Redirected {
    /// The sink given.
    pub sink: Box<dyn EventSink>,
    warned: bool,
}

impl Redirected {
    /// Redirects every row to `sink`.
    pub fn new(sink: Box<dyn EventSink>) -> Redirected {
        Redirected {
            sink,
            warned: false,
        }
    }
}

impl EventSink for Redirected {
    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        self.sink.publish(envelopes)
    }
    fn enabled(&self) -> bool {
        self.sink.enabled()
    }
    fn destination(&self, bus: Option<&str>) -> String {
        self.sink.destination(bus)
    }
    fn filter(&self) -> DestinationFilter {
        DestinationFilter {
            value: String::new(),
            prefix: true,
            legacy: true,
        }
    }
    fn publish_to(
        &mut self,
        destination: Option<&str>,
        envelopes: &[Value],
    ) -> Result<usize, String> {
        let own = self.sink.filter();
        if let Some(d) = destination.filter(|d| !own.matches(Some(d))) {
            if !self.warned {
                eprintln!("warning: --events overrides the destination recorded for pending events ({d}); they go to {}", own.value);
                self.warned = true;
            }
        }
        self.sink.publish_to(destination, envelopes)
    }
}

/// Publishes a dataset's pending events (or all, with `None`) in order for at most
/// `budget`, each batch only the rows meant for `sink` ([`EventSink::filter`]). Returns how many were published; a sink failure is reported on stderr and
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
        let filter = sink.filter();
        let mut publish = |rows: &[crate::store::Outgoing]| {
            // Consecutive rows for one destination go out together, in order; a failure
            // or a partial publish stops the batch there.
            let mut done = 0;
            while done < rows.len() {
                let dest = rows[done].0.clone();
                let run = rows[done..].iter().take_while(|(d, _)| *d == dest).count();
                let envelopes: Vec<Value> = rows[done..done + run]
                    .iter()
                    .map(|(_, e)| e.clone())
                    .collect();
                match sink.publish_to(dest.as_deref(), &envelopes) {
                    Ok(n) => {
                        done += n.min(run);
                        if n < run {
                            break;
                        }
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            done
        };
        let claimed = store
            .publish_claimed(dataset_id, &filter, 10, &mut publish)
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
