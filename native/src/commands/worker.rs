//! `depot-migrate worker` (the arguments, then the command).

use crate::args::{parse_duration, DbArgs, EventBusArgs, LockTimeoutArgs, Output, SinkArgs};
use crate::commands::sink_for;
use crate::db::open_db;
use crate::output::{print_json, Failure};
use clap::Args;
use depot_migrate_aws::sqs;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{executor, worker};
use serde_json::json;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The SQS queue that receives the `desired` events.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "poll",
        required_unless_present = "poll"
    )]
    pub queue_url: Option<String>,
    /// Find submissions by polling the state store (no AWS needed).
    #[arg(long)]
    pub poll: bool,
    /// Handle what is pending and exit.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub events: SinkArgs,
    #[command(flatten)]
    pub event_bus: EventBusArgs,
    #[command(flatten)]
    pub lock_timeout: LockTimeoutArgs,
    /// Retries after a lock timeout.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// How long a run may take unless its submission says otherwise.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub max_duration: std::time::Duration,
    /// Pause between polls when nothing is pending (`--poll`).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub poll_interval: std::time::Duration,
}

pub fn run(args: WorkerArgs, output: Output) -> Result<(), Failure> {
    let WorkerArgs {
        db,
        queue_url,
        poll,
        once,
        events: SinkArgs { events },
        event_bus: EventBusArgs { event_bus },
        lock_timeout: LockTimeoutArgs { lock_timeout },
        retries,
        max_duration,
        poll_interval,
    } = args;
    let mut store = open_db(db.url())?;
    let mut sink = sink_for(&events, None, event_bus.as_deref(), output)?;
    let mut source = match (&queue_url, poll) {
        (Some(url), false) => worker::Source::Queue(Box::new(
            sqs::Queue::new(url).map_err(|m| Failure::Failed(ErrorCode::Worker, m))?,
        )),
        (None, true) => worker::Source::Poll,
        _ => {
            return Err(Failure::Usage(
                "worker needs exactly one of --queue-url URL or --poll".into(),
            ))
        }
    };
    let stop = executor::stop_flag();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| {
            Failure::Failed(ErrorCode::Worker, format!("cannot handle signals: {e}"))
        })?;
    }
    let opts = worker::WorkerOptions {
        run: executor::ApplyOptions {
            lock_timeout,
            retries,
            max_duration: Some(max_duration),
            ..executor::ApplyOptions::default()
        },
        once,
        poll_interval,
    };
    let report = worker::run(store.as_mut(), sink.as_mut(), &mut source, &opts)
        .map_err(|m| Failure::Failed(ErrorCode::Worker, m))?;
    let failed = report.iter().filter(|l| l["result"] == "failed").count();
    eprintln!(
        "worker: {} message(s): {} deployed, {failed} failed, {} skipped",
        report.len(),
        report.iter().filter(|l| l["result"] == "deployed").count(),
        report.iter().filter(|l| l["result"] == "skipped").count()
    );
    if output == Output::Json {
        print_json(&json!({"ok": true, "handled": report}));
    }
    // `--once` is for pipelines: say in the exit code that a run failed.
    if once && failed > 0 {
        return Err(Failure::Exit1Quiet);
    }
    Ok(())
}
