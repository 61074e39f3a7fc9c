//! `depot-migrate events` (the arguments, then the command).

use crate::args::{DbArgs, EventBusArgs, Output};
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::{print_json, Failure};
use clap::{Args, Subcommand};
use depot_migrate_engine::operator::Operation;

#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Publish every pending event, in order.
    Flush {
        #[command(flatten)]
        db: DbArgs,
        /// Send every pending event here (`stdout`, `jsonl:PATH`, `eventbridge`), whatever
        /// destination was recorded for it (a warning says so). Without it each event
        /// goes to the destination recorded when it was written.
        #[arg(long, value_name = "SINK")]
        events: Option<String>,
        #[command(flatten)]
        event_bus: EventBusArgs,
        #[command(flatten)]
        runner: RunnerArgs,
    },
}

pub fn run(args: EventsArgs, output: Output) -> Result<(), Failure> {
    let EventsArgs {
        command:
            EventsCommand::Flush {
                db,
                events,
                event_bus: EventBusArgs { event_bus },
                runner,
            },
    } = args;
    let mut local_only = Vec::new();
    if events.is_some() {
        local_only.push("--events");
    }
    if event_bus.is_some() {
        local_only.push("--event-bus");
    }
    let sinks = LocalSinks {
        flush_to: events,
        event_bus,
        json_output: output == Output::Json,
        ..LocalSinks::default()
    };
    let reply = operate::call(
        Operation::EventsFlush {},
        None,
        &db,
        &runner,
        sinks,
        &local_only,
    )?;
    operate::present(reply, |r| {
        if output == Output::Json {
            print_json(&r.output);
        }
    })
}
