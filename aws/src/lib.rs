//! depot-migrate on AWS: the one SDK configuration ([`config`]), the EventBridge event
//! sink ([`eventbridge`]), the SQS client the worker reads `desired` events from
//! ([`sqs`]), and the event sinks by command-line name ([`sinks`], which adds
//! `eventbridge` to the engine's local sinks).

pub mod config;
pub mod eventbridge;
pub mod sinks;
pub mod sqs;
