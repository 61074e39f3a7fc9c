//! Who is acting and where: the host, the CI job, the actor history records, and the
//! lease holder of this process. Read from the environment and the system once; no
//! UUID is minted to learn the host name.

use crate::store::LeaseHolder;
use std::cell::RefCell;
use std::sync::OnceLock;

thread_local! {
    /// The actor of [`acting_as`], while its closure runs on this thread.
    static ACTING_AS: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f` with [`actor`] answering `who` on this thread: the runner records the
/// caller of an operator request (its STS identity and the Lambda request id) instead of
/// the function's own user and host. The previous actor comes back afterwards, also when
/// `f` panics.
pub fn acting_as<T>(who: String, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            ACTING_AS.with(|a| *a.borrow_mut() = prev);
        }
    }
    let _restore = Restore(ACTING_AS.with(|a| a.borrow_mut().replace(who)));
    f()
}

/// Who is acting, as history records it: the caller given to [`acting_as`] while it
/// runs, else `DEPOT_MIGRATE_ACTOR` when set (taken as is),
/// else the CI system's user (`GITHUB_ACTOR`, `GITLAB_USER_LOGIN`, `CODEBUILD_INITIATOR`,
/// `BUILD_USER_ID`), else the OS user (`USER`, `USERNAME`, then the process's uid looked
/// up in /etc/passwd), as user@host plus the CI job when known.
pub fn actor() -> String {
    if let Some(who) = ACTING_AS.with(|a| a.borrow().clone()) {
        return who;
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(a) = var("DEPOT_MIGRATE_ACTOR") {
        return a;
    }
    let user = [
        "GITHUB_ACTOR",
        "GITLAB_USER_LOGIN",
        "CODEBUILD_INITIATOR",
        "BUILD_USER_ID",
        "USER",
        "USERNAME",
    ]
    .iter()
    .find_map(|k| var(k))
    .or_else(os_user)
    .unwrap_or_else(|| "unknown".into());
    let job = ci_job()
        .map(|j| format!(" (CI job {j})"))
        .unwrap_or_default();
    format!("{user}@{}{job}", host())
}

/// The name of the process's real uid, from /proc and /etc/passwd (no libc call).
fn os_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
            })
        });
    name.or(Some(format!("uid{uid}")))
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `HOSTNAME`, else
/// `unknown`), read once per process.
pub fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown".into())
    })
}

/// The CI job this process runs in, when the CI system says (`CI_JOB_ID`,
/// `GITHUB_RUN_ID`, `CODEBUILD_BUILD_ID`, `BUILD_ID`).
pub fn ci_job() -> Option<String> {
    [
        "CI_JOB_ID",
        "GITHUB_RUN_ID",
        "CODEBUILD_BUILD_ID",
        "BUILD_ID",
    ]
    .iter()
    .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// A new lease holder for this process: host, pid, CI job and a fresh token (each lock
/// taken gets its own token, so a lost lease is told apart from a new one).
pub fn lease_holder() -> LeaseHolder {
    LeaseHolder {
        host: host().to_string(),
        pid: std::process::id(),
        ci_job: ci_job(),
        token: uuid::Uuid::new_v4().to_string(),
        max_duration: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_holders_share_the_host_and_differ_in_token() {
        let (a, b) = (lease_holder(), lease_holder());
        assert_eq!(a.host, host());
        assert!(!a.host.is_empty());
        assert_eq!(a.pid, std::process::id());
        assert_ne!(a.token, b.token, "each lock gets its own token");
        assert!(actor().contains('@') || std::env::var("DEPOT_MIGRATE_ACTOR").is_ok());
    }

    #[test]
    fn acting_as_overrides_the_actor_on_this_thread_only_and_is_restored() {
        let own = actor();
        let who = "arn:aws:sts::123456789012:assumed-role/OnCall/alice".to_string();
        let (inside, nested, other_thread) = acting_as(who.clone(), || {
            let nested = acting_as("bob".into(), actor);
            let other = std::thread::spawn(actor).join().expect("thread");
            (actor(), nested, other)
        });
        assert_eq!(inside, who);
        assert_eq!(nested, "bob");
        assert_eq!(other_thread, own, "another thread keeps its own actor");
        assert_eq!(actor(), own, "restored afterwards");
    }
}
