//! `depot-migrate events` (the arguments, then the command).

use crate::args::{DbArgs, EventBusArgs, Output};
use crate::commands::sink_for;
use crate::db::target_of_url;
use crate::output::{print_json, store_failure, Failure};
use clap::{Args, Subcommand};
use depot_migrate_aws::sinks;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{events, executor};
use serde_json::json;

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
    },
}

pub fn run(args: EventsArgs, output: Output) -> Result<(), Failure> {
    let EventsArgs {
        command:
            EventsCommand::Flush {
                db,
                events,
                event_bus: EventBusArgs { event_bus },
            },
    } = args;
    let url = crate::dataset_ref::store_url(db.url())?;
    let target = target_of_url(&url)?;
    let mut sink: Box<dyn events::EventSink> = match &events {
        Some(arg) => Box::new(events::Redirected::new(sink_for(
            arg,
            None,
            event_bus.as_deref(),
            output,
        )?)),
        None => Box::new(events::RecordedDestinations::new(
            sinks::sink_with_override,
            event_bus.as_deref(),
            output == Output::Json,
        )),
    };
    let mut store = executor::open_store(&target).map_err(store_failure)?;
    store.ensure_state_schema().map_err(store_failure)?;
    let n = events::publish_pending(
        store.as_mut(),
        sink.as_mut(),
        None,
        std::time::Duration::from_secs(60),
    )
    .map_err(|m| Failure::Failed(ErrorCode::EventsPending, m))?;
    eprintln!("{n} event(s) published");
    // A flush that leaves events pending has not done its job: say so in the exit
    // code, so a pipeline can retry.
    let left = store.pending_events(None, 1).map_err(store_failure)?;
    if let Some((_, dest, _)) = left.first().filter(|_| sink.enabled()) {
        if dest.is_none() && events.is_none() {
            return Err(Failure::Failed(
                ErrorCode::EventsPending,
                "events written before depot-migrate recorded destinations are pending; say where they go with `depot-migrate events flush --events SINK`".into(),
            ));
        }
        return Err(Failure::Failed(
            ErrorCode::EventsPending,
            "events are still pending after the flush; run `depot-migrate events flush` again"
                .into(),
        ));
    }
    if output == Output::Json {
        print_json(&json!({"ok": true, "published": n}));
    }
    Ok(())
}
