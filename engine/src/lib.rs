//! The depot-migrate engine: the lifecycle (apply, submit, worker, wait, recover,
//! watchdog), the executor, the state stores, the event sinks and the outbox, and input
//! loading. No command-line parsing: the `depot-migrate` binary (`native/`) turns
//! arguments into calls here and results into output and exit codes. AWS (EventBridge,
//! SQS, SDK configuration) lives in `depot-migrate-aws` (`aws/`). See docs/design.md.

pub mod clock;
pub mod error;
pub mod events;
pub mod executor;
pub mod identity;
pub mod input;
pub mod memory_sink;
pub mod operator;
pub mod snowflake;
pub mod store;
pub mod stuck;
pub mod wait;
pub mod worker;
