//! The operator commands (`status`, `history`, `snapshot`, `list`, `wait`, `recover`,
//! `events flush`, `watchdog`) run in one place, the engine's
//! `depot_migrate_engine::operator::execute`: here in the process, or with `--runner
//! FUNCTION` in the `MigrationRunner` Lambda function (an operator request through the
//! Lambda Invoke API; `depot_migrate_aws::runner`). Either way the command gets a
//! [`Reply`] and prints it the same way ([`present`]).

use crate::args::{DbArgs, Output};
use crate::dataset_ref::DatasetRef;
use crate::output::Failure;
use depot_migrate_aws::{runner, sinks};
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::events::{self, json_safe, EventSink};
use depot_migrate_engine::operator::{self, Operation, Reply, Request, Sinks};

/// `--runner` and `--profile`, on every operator command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunnerArgs {
    /// Run the command in the `MigrationRunner` Lambda function (its name or ARN), inside
    /// its VPC with its own database credentials, instead of against --db. The answer is
    /// printed as the local command prints it. AWS credentials and region come the AWS
    /// SDK's usual way (environment, `AWS_PROFILE`, SSO, instance role); `recover` and
    /// `events flush` send the caller's identity (STS `GetCallerIdentity`), which history
    /// records.
    #[arg(long, value_name = "FUNCTION")]
    pub runner: Option<String>,
    /// With --runner: the AWS profile (from ~/.aws/config) to invoke it as.
    #[arg(long, value_name = "NAME", requires = "runner")]
    pub profile: Option<String>,
}

/// Where the events of an operator command run here go: `--events` (recover, watchdog),
/// `--event-bus`, and for `events flush` the optional `--events` redirect.
#[derive(Default)]
pub struct LocalSinks {
    /// `--events` of `recover` and `watchdog` (default `stdout`).
    pub events: Option<String>,
    /// `--event-bus`.
    pub event_bus: Option<String>,
    /// `events flush --events`.
    pub flush_to: Option<String>,
    /// `--output json` (then `stdout` events go to stderr).
    pub json_output: bool,
}

impl LocalSinks {
    fn sink(&self, dataset_bus: Option<&str>) -> Result<Box<dyn EventSink>, String> {
        let arg = self.events.as_deref().unwrap_or("stdout");
        let sink = sinks::sink_with_override(arg, dataset_bus, self.event_bus.as_deref())?;
        Ok(json_safe(arg, sink, self.json_output))
    }
}

impl Sinks for LocalSinks {
    fn dataset_sink(&self, dataset_bus: Option<&str>) -> Result<Box<dyn EventSink>, String> {
        self.sink(dataset_bus)
    }
    fn watchdog_sink(&self) -> Result<Box<dyn EventSink>, String> {
        self.sink(None)
    }
    fn flush_sink(&self) -> Result<(Box<dyn EventSink>, bool), String> {
        Ok(match &self.flush_to {
            Some(arg) => {
                let sink = sinks::sink_with_override(arg, None, self.event_bus.as_deref())?;
                (
                    Box::new(events::Redirected::new(json_safe(
                        arg,
                        sink,
                        self.json_output,
                    ))),
                    true,
                )
            }
            None => (
                Box::new(events::RecordedDestinations::new(
                    sinks::sink_with_override,
                    self.event_bus.as_deref(),
                    self.json_output,
                )),
                false,
            ),
        })
    }
}

/// Runs an operator command here, or in the runner with `--runner`. `local_only` names
/// the options given that only mean something here (`--events`, `--event-bus`): with
/// `--runner` they are refused, since the runner publishes where its configuration says.
pub fn call(
    operation: Operation,
    dataset: Option<DatasetRef>,
    db: &DbArgs,
    runner: &RunnerArgs,
    sinks: LocalSinks,
    local_only: &[&str],
) -> Result<Reply, Failure> {
    let Some(function) = &runner.runner else {
        return Ok(operator::execute(
            &operation,
            dataset.as_ref(),
            db.url().as_deref(),
            &sinks,
        ));
    };
    runner::check_function(function).map_err(Failure::Usage)?;
    if db.given() {
        return Err(Failure::Usage(
            "--runner runs the command on the runner's own database: drop --db".into(),
        ));
    }
    if let Some(flag) = local_only.first() {
        return Err(Failure::Usage(format!(
            "--runner publishes events where the runner's configuration says: drop {flag}"
        )));
    }
    let (dataset_id, environment_id) = match &dataset {
        None => (None, None),
        Some(DatasetRef::File(ds)) => {
            (Some(ds.dataset_id.clone()), Some(ds.environment_id.clone()))
        }
        Some(DatasetRef::Id { id, environment_id }) => (Some(id.clone()), environment_id.clone()),
    };
    let client = runner::Runner::new(function, runner.profile.as_deref())
        .map_err(|m| Failure::Failed(ErrorCode::RunnerInvoke, m))?;
    let caller = if operation.mutating() {
        Some(
            client
                .caller_identity()
                .map_err(|m| Failure::Failed(ErrorCode::CallerIdentity, m))?,
        )
    } else {
        None
    };
    let request = Request {
        version: operator::VERSION,
        operation,
        dataset_id,
        environment_id,
        caller,
    };
    let answer = client
        .invoke(&request.to_json())
        .map_err(|m| Failure::Failed(ErrorCode::RunnerInvoke, m))?;
    eprintln!(
        "runner {function}: Lambda request {}",
        answer.request_id.as_deref().unwrap_or("(no id)")
    );
    Ok(answer.into_reply())
}

/// Prints a reply: its notes on stderr, then its document as `render` says (on success),
/// or its error as the command's failure (one line on stderr, the exit code, and with
/// `--output json` the error document).
pub fn present(reply: Reply, render: impl FnOnce(&Reply)) -> Result<(), Failure> {
    for line in &reply.notes {
        eprintln!("{line}");
    }
    if let Some(e) = reply.error {
        return Err(Failure::from(e));
    }
    render(&reply);
    Ok(())
}

/// The output format's choice of text or JSON rendering.
pub fn render_json_or(output: Output, reply: &Reply, text: impl FnOnce(&Reply) -> String) {
    match output {
        Output::Json => crate::output::print_json(&reply.output),
        Output::Text => crate::output::print_line(&text(reply)),
    }
}
