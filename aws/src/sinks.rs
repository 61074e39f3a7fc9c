//! Event sinks by command-line name: `eventbridge` here, `stdout`, `jsonl:PATH` and
//! `none` from the engine ([`depot_migrate_engine::events::local_sink`]).

use crate::eventbridge::EventBridgeSink;
use depot_migrate_engine::events::{local_sink, EventSink};

/// A sink from its command-line name. `event_bus_name` is the dataset's `eventBusName`,
/// used by `eventbridge` for a dataset that names none (default bus when `None`); each
/// row still goes to the bus recorded for it.
pub fn sink_from_arg(
    arg: &str,
    event_bus_name: Option<&str>,
) -> Result<Box<dyn EventSink>, String> {
    sink_with_override(arg, event_bus_name, None)
}

/// [`sink_from_arg`] with an explicit `--event-bus`, which overrides the bus of every
/// dataset and outbox row (with a warning, once, when they differ).
pub fn sink_with_override(
    arg: &str,
    event_bus_name: Option<&str>,
    bus_override: Option<&str>,
) -> Result<Box<dyn EventSink>, String> {
    match arg {
        "eventbridge" => Ok(Box::new(
            EventBridgeSink::new(event_bus_name)?.with_override(bus_override),
        )),
        other => local_sink(other),
    }
}
