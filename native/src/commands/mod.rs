//! One file per command: its arguments and what it does. [`run`] dispatches.

pub mod alert_rule;
pub mod apply;
pub mod events;
pub mod hash;
pub mod history;
pub mod inspect;
pub mod list;
pub mod plan;
pub mod recover;
pub mod schema;
pub mod snapshot;
pub mod status;
pub mod submit;
pub mod validate;
pub mod wait;
pub mod watchdog;
pub mod worker;

use crate::args::{Cli, Command, Output};
use crate::output::Failure;
use depot_migrate_aws::sinks;
use depot_migrate_engine::events::{json_safe, EventSink};

/// Runs the command given.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let output = cli.output;
    match cli.command {
        Command::Hash(args) => hash::run(args, output),
        Command::Plan(args) => plan::run(args, output),
        Command::Apply(args) => apply::run(args, output),
        Command::Submit(args) => submit::run(args, output),
        Command::Worker(args) => worker::run(args, output),
        Command::Wait(args) => wait::run(args, output),
        Command::Recover(args) => recover::run(args, output),
        Command::Watchdog(args) => watchdog::run(args, output),
        Command::Status(args) => status::run(args, output),
        Command::History(args) => history::run(args, output),
        Command::List(args) => list::run(args, output),
        Command::Snapshot(args) => snapshot::run(args),
        Command::Events(args) => events::run(args, output),
        Command::AlertRule(args) => alert_rule::run(args),
        Command::Validate(args) => validate::run(args, output),
        Command::Schema(args) => schema::run(args),
        Command::Inspect(args) => inspect::run(args, output),
    }
}

/// The sink of `--events` (and `--event-bus` where the command has it); with `--output
/// json`, `stdout` events go to standard error so stdout stays one JSON document.
pub fn sink_for(
    arg: &str,
    dataset_bus: Option<&str>,
    bus_override: Option<&str>,
    output: Output,
) -> Result<Box<dyn EventSink>, Failure> {
    let sink = sinks::sink_with_override(arg, dataset_bus, bus_override).map_err(Failure::Usage)?;
    Ok(json_safe(arg, sink, output == Output::Json))
}
