//! `depot-migrate watchdog` (the arguments, then the command).

use crate::args::{DbArgs, EventBusArgs, Output, SinkArgs};
use crate::operate::{self, LocalSinks, RunnerArgs};
use crate::output::{print_json, Failure};
use clap::Args;
use depot_migrate_engine::operator::Operation;

#[derive(Args, Debug)]
pub struct WatchdogArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub events: SinkArgs,
    #[command(flatten)]
    pub event_bus: EventBusArgs,
    #[command(flatten)]
    pub runner: RunnerArgs,
}

pub fn run(args: WatchdogArgs, output: Output) -> Result<(), Failure> {
    let WatchdogArgs {
        db,
        events: SinkArgs { events },
        event_bus: EventBusArgs { event_bus },
        runner,
    } = args;
    let mut local_only = Vec::new();
    if events != "stdout" {
        local_only.push("--events");
    }
    if event_bus.is_some() {
        local_only.push("--event-bus");
    }
    let sinks = LocalSinks {
        events: Some(events),
        event_bus,
        json_output: output == Output::Json,
        ..LocalSinks::default()
    };
    let reply = operate::call(
        Operation::Watchdog {},
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
