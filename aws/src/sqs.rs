//! `worker --queue-url`: receives `desired` events from an SQS queue (fed by an
//! EventBridge rule on `desired` events) with the slim AWS SDK, like the EventBridge sink:
//! one rustls with ring, a current-thread tokio runtime, every call bounded in time. The
//! endpoint comes from `AWS_ENDPOINT_URL` when set.

use crate::eventbridge::{describe, one_line};
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::Client;
use std::time::Duration;

pub use depot_migrate_engine::worker::Message;

/// An SQS queue.
pub struct Queue {
    url: String,
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
}

impl Queue {
    /// A queue by URL; nothing is contacted until the first call.
    pub fn new(url: &str) -> Result<Queue, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| one_line(&format!("cannot start the SQS client runtime: {e}")))?;
        Ok(Queue {
            url: url.to_string(),
            rt,
            client: None,
        })
    }

    fn client(&mut self) -> Result<Client, String> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let loader = crate::config::loader(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                // Long polls wait up to 20 s on the server.
                .read_timeout(Duration::from_secs(25))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        );
        let config = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), loader.load()).await })
            .map_err(|_| "loading the AWS configuration took longer than 10 s".to_string())?;
        if config.region().is_none() {
            return Err("no AWS region for SQS: set AWS_REGION".into());
        }
        let client = Client::new(&config);
        self.client = Some(client.clone());
        Ok(client)
    }

    /// Receives up to 10 messages, waiting up to `wait` (long poll) for the first.
    pub fn receive(&mut self, wait: Duration) -> Result<Vec<Message>, String> {
        let client = self.client()?;
        let secs = i32::try_from(wait.as_secs().min(20)).unwrap_or(20);
        let call = client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(secs)
            .send();
        let out = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(35), call).await })
            .map_err(|_| "SQS ReceiveMessage took longer than 35 s".to_string())?
            .map_err(|e| {
                one_line(&format!(
                    "SQS ReceiveMessage from {} failed: {}",
                    self.url,
                    describe(&e)
                ))
            })?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                Some(Message {
                    receipt: m.receipt_handle()?.to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }

    /// Deletes (acknowledges) a message.
    pub fn delete(&mut self, receipt: &str) -> Result<(), String> {
        let client = self.client()?;
        let call = client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send();
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), call).await })
            .map_err(|_| "SQS DeleteMessage took longer than 10 s".to_string())?
            .map_err(|e| one_line(&format!("SQS DeleteMessage failed: {}", describe(&e))))?;
        Ok(())
    }

    /// Makes a message visible again after `after` (it could not be handled now).
    pub fn release(&mut self, receipt: &str, after: Duration) -> Result<(), String> {
        let client = self.client()?;
        let call = client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(after.as_secs()).unwrap_or(30))
            .send();
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), call).await })
            .map_err(|_| "SQS ChangeMessageVisibility took longer than 10 s".to_string())?
            .map_err(|e| {
                one_line(&format!(
                    "SQS ChangeMessageVisibility failed: {}",
                    describe(&e)
                ))
            })?;
        Ok(())
    }
}

impl depot_migrate_engine::worker::MessageQueue for Queue {
    fn receive(&mut self, wait: Duration) -> Result<Vec<Message>, String> {
        Queue::receive(self, wait)
    }
    fn delete(&mut self, receipt: &str) -> Result<(), String> {
        Queue::delete(self, receipt)
    }
    fn release(&mut self, receipt: &str, after: Duration) -> Result<(), String> {
        Queue::release(self, receipt, after)
    }
}
