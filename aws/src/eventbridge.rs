//! `--events eventbridge`: lifecycle envelopes as Amazon EventBridge `PutEvents` entries.
//!
//! The slim AWS SDK (no default features, one rustls with ring) behind the blocking
//! [`EventSink`]: the sink owns a current-thread tokio runtime and builds its client on
//! first use, so choosing the sink costs nothing and a missing region or credentials
//! only delays events (they stay in the outbox). The bus comes from the dataset config
//! (`eventBusName`, default `default`); the endpoint from `AWS_ENDPOINT_URL` when set
//! (aws-config reads it). Every call is bounded in time, so an outage never blocks a
//! migration.

use aws_config::timeout::TimeoutConfig;
use aws_sdk_eventbridge::config::http::HttpResponse;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::primitives::{DateTime, DateTimeFormat};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use depot_migrate_engine::events::EventSink;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The bus when the dataset config names none.
pub const DEFAULT_BUS: &str = "default";
/// EventBridge's limit on entries per `PutEvents` request.
const MAX_ENTRIES: usize = 10;
/// EventBridge's limit is 256 KB per request; we count the request body conservatively
/// (escaped JSON plus field names) and keep this margin below 262,144 bytes.
const MAX_REQUEST_BYTES: usize = 256 * 1024 - 4 * 1024;
/// Bytes of JSON around one entry's values (field names, quotes, commas, `Time`).
const ENTRY_OVERHEAD: usize = 128;
/// The SDK's own bound on one `PutEvents` call, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// A hard bound around everything one call does (loading the config included).
const HARD_TIMEOUT: Duration = Duration::from_secs(6);
/// After a failed call, further calls in this process fail at once for this long, so a
/// run that publishes several times (attempted, then deployed) waits for an outage once.
const BACKOFF_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Publishes envelopes to one EventBridge bus.
pub struct EventBridgeSink {
    bus: String,
    /// `--event-bus`: every event goes there, whatever bus its row records.
    bus_override: Option<String>,
    warned: bool,
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    /// Until when calls are skipped, and why (after a failed call).
    down: Option<(Instant, String)>,
}

impl EventBridgeSink {
    /// A sink for `bus` (a name or ARN; `None` or empty is the default bus). Nothing is
    /// contacted until the first publish.
    pub fn new(bus: Option<&str>) -> Result<EventBridgeSink, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| one_line(&format!("cannot start the EventBridge client runtime: {e}")))?;
        Ok(EventBridgeSink {
            bus: bus
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .unwrap_or(DEFAULT_BUS)
                .to_string(),
            bus_override: None,
            warned: false,
            rt,
            client: None,
            down: None,
        })
    }

    /// Sends every event to `bus` when given (`--event-bus`), whatever its dataset or
    /// outbox row says.
    pub fn with_override(mut self, bus: Option<&str>) -> EventBridgeSink {
        self.bus_override = bus
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        self
    }

    fn client(&mut self) -> Result<Client, String> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let loader = crate::config::loader(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .read_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
        let config = self
            .rt
            .block_on(async { tokio::time::timeout(HARD_TIMEOUT, loader.load()).await })
            .map_err(|_| {
                format!(
                    "loading the AWS configuration took longer than {} s",
                    HARD_TIMEOUT.as_secs()
                )
            })?;
        if config.region().is_none() {
            return Err("no AWS region for EventBridge: set AWS_REGION".into());
        }
        let client = Client::new(&config);
        self.client = Some(client.clone());
        Ok(client)
    }

    /// One `PutEvents` call; returns how many leading entries EventBridge accepted.
    fn put(&mut self, entries: &[PutEventsRequestEntry]) -> Result<usize, String> {
        let client = self.client()?;
        let call = client
            .put_events()
            .set_entries(Some(entries.to_vec()))
            .send();
        let out = self
            .rt
            .block_on(async { tokio::time::timeout(HARD_TIMEOUT, call).await })
            .map_err(|_| {
                format!(
                    "EventBridge PutEvents took longer than {} s",
                    HARD_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| {
                one_line(&format!(
                    "EventBridge PutEvents to bus {:?} failed: {}",
                    self.bus,
                    describe(&e)
                ))
            })?;
        if out.failed_entry_count() == 0 {
            return Ok(entries.len());
        }
        let results = out.entries();
        let ok = results
            .iter()
            .take_while(|r| r.error_code().is_none() && r.event_id().is_some())
            .count()
            .min(entries.len());
        let why = results
            .get(ok)
            .map(|r| {
                format!(
                    "{}: {}",
                    r.error_code().unwrap_or("unknown error"),
                    r.error_message().unwrap_or("")
                )
            })
            .unwrap_or_else(|| "no result for the entry".into());
        if ok == 0 {
            return Err(one_line(&format!(
                "EventBridge rejected the event ({why}) on bus {:?}",
                self.bus
            )));
        }
        eprintln!(
            "{}",
            one_line(&format!(
                "warning: EventBridge accepted {ok} of {} events; the next was rejected ({why})",
                entries.len()
            ))
        );
        Ok(ok)
    }
}

impl EventSink for EventBridgeSink {
    fn destination(&self, dataset_bus: Option<&str>) -> String {
        let bus = self
            .bus_override
            .as_deref()
            .or(dataset_bus.map(str::trim).filter(|b| !b.is_empty()))
            .unwrap_or(&self.bus);
        format!("eventbridge:{bus}")
    }

    fn filter(&self) -> depot_migrate_engine::store::DestinationFilter {
        depot_migrate_engine::store::DestinationFilter {
            value: "eventbridge:".into(),
            prefix: true,
            legacy: true,
        }
    }

    fn publish_to(
        &mut self,
        destination: Option<&str>,
        envelopes: &[Value],
    ) -> Result<usize, String> {
        let recorded = destination.and_then(|d| d.strip_prefix("eventbridge:"));
        let bus = match (&self.bus_override, recorded) {
            (Some(o), Some(r)) if o != r => {
                if !self.warned {
                    eprintln!("warning: --event-bus {o:?} overrides the bus recorded for the events ({r:?})");
                    self.warned = true;
                }
                o.clone()
            }
            (Some(o), _) => o.clone(),
            (None, Some(r)) => r.to_string(),
            (None, None) => self.bus.clone(),
        };
        let own = std::mem::replace(&mut self.bus, bus);
        let result = self.publish(envelopes);
        self.bus = own;
        result
    }

    fn publish(&mut self, envelopes: &[Value]) -> Result<usize, String> {
        if envelopes.is_empty() {
            return Ok(0);
        }
        if let Some((until, why)) = &self.down {
            if Instant::now() < *until {
                return Err(format!(
                    "{why}; not retried for {} s",
                    BACKOFF_AFTER_FAILURE.as_secs()
                ));
            }
            self.down = None;
        }
        // An envelope that cannot become an entry stops the batch there: what precedes it
        // is still published, in order.
        let mut entries = Vec::with_capacity(envelopes.len());
        let mut sizes = Vec::with_capacity(envelopes.len());
        let mut stop = None;
        for e in envelopes {
            match entry(e, &self.bus) {
                Ok((en, size)) => {
                    entries.push(en);
                    sizes.push(size);
                }
                Err(err) => {
                    stop = Some(err);
                    break;
                }
            }
        }
        let mut done = 0;
        for range in batches(&sizes) {
            let n = range.len();
            match self.put(&entries[range]) {
                Ok(k) => {
                    done += k;
                    if k < n {
                        return Ok(done);
                    }
                }
                Err(e) if done == 0 => {
                    self.down = Some((Instant::now() + BACKOFF_AFTER_FAILURE, e.clone()));
                    return Err(e);
                }
                Err(e) => {
                    eprintln!("warning: {e}");
                    self.down = Some((Instant::now() + BACKOFF_AFTER_FAILURE, e));
                    return Ok(done);
                }
            }
        }
        match stop {
            Some(e) if done == 0 => Err(e),
            Some(e) => {
                eprintln!("warning: {e}");
                Ok(done)
            }
            None => Ok(done),
        }
    }
}

/// The `PutEvents` entry for an envelope, and its conservatively counted size.
fn entry(envelope: &Value, bus: &str) -> Result<(PutEventsRequestEntry, usize), String> {
    let field = |k: &str| {
        envelope
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("event envelope without {k:?}; it stays in the outbox"))
    };
    let id = envelope.get("id").and_then(Value::as_str).unwrap_or("?");
    let source = field("source")?;
    let detail_type = field("detail-type")?;
    let detail = envelope
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| format!("event {id} has no detail object; it stays in the outbox"))?
        .to_string();
    let resources: Vec<String> = envelope
        .get("resources")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // The state change time; an unreadable one is left to EventBridge (receive time).
    let time = envelope
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::from_str(t, DateTimeFormat::DateTimeWithOffset).ok());
    let escaped = |s: &str| Value::from(s).to_string().len();
    let size = ENTRY_OVERHEAD
        + escaped(source)
        + escaped(detail_type)
        + escaped(&detail)
        + escaped(bus)
        + resources.iter().map(|r| escaped(r) + 1).sum::<usize>();
    if size > MAX_REQUEST_BYTES {
        return Err(format!(
            "event {id} is {size} bytes, over EventBridge's 256 KB request limit; it stays in the outbox"
        ));
    }
    let en = PutEventsRequestEntry::builder()
        .source(source)
        .detail_type(detail_type)
        .detail(detail)
        .event_bus_name(bus)
        .set_time(time)
        .set_resources(Some(resources))
        .build();
    Ok((en, size))
}

/// Consecutive ranges of at most [`MAX_ENTRIES`] entries whose sizes add up to at most
/// [`MAX_REQUEST_BYTES`] (every single size is already within it).
fn batches(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut total = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if i > start && (i - start == MAX_ENTRIES || total + s > MAX_REQUEST_BYTES) {
            out.push(start..i);
            start = i;
            total = 0;
        }
        total += s;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// An SDK error, briefly: the service's code and message, or the chain of causes (their
/// `Display`, never the `Debug` dump with headers and bodies).
pub(crate) fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let SdkError::ServiceError(se) = e {
        let err = se.err();
        let status = se.raw().status().as_u16();
        return match (err.code(), err.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg} (HTTP {status})"),
            (Some(code), None) => format!("{code} (HTTP {status})"),
            _ => format!("{err} (HTTP {status})"),
        };
    }
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cur {
        let text = c.to_string();
        // Causes often repeat their source's text; keep each once.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// An error as one line, without credentials (should a secret ever be echoed).
pub(crate) fn one_line(s: &str) -> String {
    let mut line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for var in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
    ] {
        if let Ok(v) = std::env::var(var) {
            if v.len() >= 8 {
                line = line.replace(&v, "***");
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_respect_count_and_size() {
        assert!(batches(&[]).is_empty());
        assert_eq!(batches(&[100; 25]), vec![0..10, 10..20, 20..25]);
        let big = MAX_REQUEST_BYTES / 2;
        assert_eq!(batches(&[big, big, 1, big]), vec![0..2, 2..4]);
        assert_eq!(batches(&[big, big + 1, big]), vec![0..1, 1..2, 2..3]);
        assert_eq!(batches(&[MAX_REQUEST_BYTES, 1]), vec![0..1, 1..2]);
    }

    #[test]
    fn entries_carry_the_envelope() {
        let env = json!({"version": "0", "id": "x", "detail-type": "migration-lifecycle",
            "source": "tech.stage.depot", "account": "", "time": "2025-05-16T08:13:22Z",
            "region": "", "resources": [], "detail": {"event": "deployed", "s": "\"q\""}});
        let (e, size) = entry(&env, "bus").expect("entry");
        assert_eq!(e.source(), Some("tech.stage.depot"));
        assert_eq!(e.detail_type(), Some("migration-lifecycle"));
        assert_eq!(e.event_bus_name(), Some("bus"));
        assert_eq!(
            serde_json::from_str::<Value>(e.detail().expect("detail")).expect("json"),
            env["detail"]
        );
        assert_eq!(e.time().map(|t| t.secs()), Some(1_747_383_202));
        assert!(e.resources().is_empty());
        assert!(size > e.detail().expect("detail").len());
        let huge = json!({"source": "s", "detail-type": "d",
            "detail": {"m": "x".repeat(MAX_REQUEST_BYTES)}});
        assert!(entry(&huge, "bus").expect_err("too big").contains("256 KB"));
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(one_line("a\n  b\r\nc"), "a b c");
    }
}
