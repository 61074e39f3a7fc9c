//! depot-migrate on AWS: the one SDK configuration ([`config`]), the EventBridge event
//! sink ([`eventbridge`]), the SQS client the worker reads `desired` events from
//! ([`sqs`]), the event sinks by command-line name ([`sinks`], which adds
//! `eventbridge` to the engine's local sinks), and the operator's client of the
//! `MigrationRunner` function ([`runner`]: Lambda Invoke, STS `GetCallerIdentity`).

pub mod config;
pub mod eventbridge;
pub mod runner;
pub mod sinks;
pub mod sqs;
