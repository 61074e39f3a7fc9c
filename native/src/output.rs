//! Output: printing results, and the one place a command's result becomes an exit code:
//! 0 ok, 1 migration failed, 2 bad input or usage, 3 refused, 4 only for
//! `plan --detailed-exitcode`.

use crate::args::Output;
use depot_migrate_core::Problem;
use depot_migrate_engine::error::ErrorCode;
use depot_migrate_engine::{executor, store};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

/// Why a command did not succeed, mapped to an exit code in `main` only.
pub enum Failure {
    /// Bad input: every problem, per file (exit 2).
    BadInput(Vec<(String, Vec<Problem>)>),
    /// Usage error not caught by clap (exit 2).
    Usage(String),
    /// `plan --detailed-exitcode` found changes (exit 4).
    Changes,
    /// Refused before anything ran (exit 3), with its code.
    Refused(ErrorCode, String),
    /// The migration (or the command's work) failed (exit 1), with its code.
    Failed(ErrorCode, String),
    /// `wait` ran out of time (exit 3; code `WaitTimeout`).
    Timeout(String),
    /// Exit 1, everything already said (`worker --once` after a failed run).
    Exit1Quiet,
}

/// The exit code of a command's result (0 ok, 1 failed, 2 bad input or usage, 3 refused
/// or timed out, 4 `plan --detailed-exitcode` found changes), after saying why on stderr
/// (and, with `--output json`, on stdout).
pub fn exit_code(result: Result<(), Failure>, output: Output) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Changes) => ExitCode::from(4),
        Err(Failure::BadInput(files)) => {
            let stderr = std::io::stderr();
            let mut err = stderr.lock();
            for (file, problems) in &files {
                for p in problems {
                    let _ = writeln!(
                        err,
                        "{file}:{}: {}: {}",
                        p.path,
                        p.code,
                        one_line(&p.message)
                    );
                }
            }
            if output == Output::Json {
                let doc = json!({
                    "ok": false,
                    "error": "invalidInput",
                    "problems": files.iter().flat_map(|(file, ps)| ps.iter().map(move |p| json!({
                        "file": file, "path": p.path, "code": p.code.as_str(), "message": p.message,
                    }))).collect::<Vec<_>>(),
                });
                print_json(&doc);
            }
            ExitCode::from(2)
        }
        Err(Failure::Usage(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&message));
            ExitCode::from(2)
        }
        Err(Failure::Refused(code, message)) => {
            let _ = writeln!(std::io::stderr(), "refused: {}", one_line(&message));
            if output == Output::Json {
                print_json(
                    &json!({"ok": false, "error": "refused", "code": code.as_str(), "message": message}),
                );
            }
            ExitCode::from(3)
        }
        Err(Failure::Exit1Quiet) => ExitCode::from(1),
        Err(Failure::Timeout(message)) => {
            let _ = writeln!(std::io::stderr(), "timeout: {}", one_line(&message));
            if output == Output::Json {
                print_json(
                    &json!({"ok": false, "error": "timeout", "code": ErrorCode::WaitTimeout.as_str(), "message": message}),
                );
            }
            ExitCode::from(3)
        }
        Err(Failure::Failed(code, message)) => {
            let _ = writeln!(std::io::stderr(), "failed: {}", one_line(&message));
            if output == Output::Json {
                print_json(
                    &json!({"ok": false, "error": "failed", "code": code.as_str(), "message": message}),
                );
            }
            ExitCode::from(1)
        }
    }
}

/// The exit code of the Lambda handler loop (it returns only when it cannot go on).
pub fn lambda_exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&message));
            ExitCode::from(1)
        }
    }
}

/// A message as one line.
pub fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// One JSON document on stdout.
pub fn print_json(doc: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, doc);
    let _ = writeln!(out);
}

/// One line on stdout.
pub fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// "1 step", "2 steps".
pub fn steps_text(n: usize) -> String {
    if n == 1 {
        "1 step".into()
    } else {
        format!("{n} steps")
    }
}

/// A store error as a command failure: refused credentials are bad input (exit 2; they
/// come from the caller's environment and nothing ran), the rest a failure (exit 1).
pub fn store_failure(e: store::StoreError) -> Failure {
    match e {
        store::StoreError::Credentials(m) => Failure::Usage(m),
        other => Failure::Failed(other.code(), other.to_string()),
    }
}

impl From<depot_migrate_engine::operator::OpError> for Failure {
    /// An operator command's error (here or from the runner) as the same failure.
    fn from(e: depot_migrate_engine::operator::OpError) -> Failure {
        use depot_migrate_engine::operator::ErrorKind;
        // A code this build does not know (from a newer runner) arrives as none.
        let code = e.code.unwrap_or(ErrorCode::RunnerInvoke);
        match e.kind {
            ErrorKind::Usage => Failure::Usage(e.message),
            ErrorKind::Refused => Failure::Refused(code, e.message),
            ErrorKind::Failed => Failure::Failed(code, e.message),
            ErrorKind::Timeout => Failure::Timeout(e.message),
        }
    }
}

/// An apply / submit / recover error as a command failure.
pub fn apply_failure(e: executor::ApplyError) -> Failure {
    match e {
        executor::ApplyError::Credentials(m) => Failure::Usage(m),
        executor::ApplyError::Refused(code, m) => Failure::Refused(code, m),
        executor::ApplyError::Store(m) => Failure::Failed(ErrorCode::Store, m),
        failed @ executor::ApplyError::Failed(_) => {
            Failure::Failed(ErrorCode::MigrationFailed, failed.to_string())
        }
    }
}
