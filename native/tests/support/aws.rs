//! A minimal AWS JSON-protocol client for the moto_server of scripts/with-services.sh
//! (`DEPOT_TEST_AWS_ENDPOINT`): plain HTTP, one connection a call (moto routes on the
//! credential scope and does not check signatures), so the tests add no AWS SDK crates.
//! The same calls as `tests/eventbridge.rs`.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The region every test uses.
pub const REGION: &str = "eu-west-1";

/// The moto endpoint.
pub fn endpoint() -> String {
    std::env::var("DEPOT_TEST_AWS_ENDPOINT").expect(
        "DEPOT_TEST_AWS_ENDPOINT is not set: run the tests through scripts/with-services.sh (or scripts/test.sh), which starts moto_server",
    )
}

/// The environment a `depot-migrate` process needs to talk to moto.
pub fn env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// A queue; returns its URL and ARN.
pub fn queue(name: &str) -> (String, String) {
    let url = aws("sqs", "CreateQueue", json!({"QueueName": name}))["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string();
    let arn = aws(
        "sqs",
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    )["Attributes"]["QueueArn"]
        .as_str()
        .expect("QueueArn")
        .to_string();
    (url, arn)
}

/// A rule on `bus` with `pattern`, targeting the queue `arn`.
pub fn rule_to_queue(bus: &str, rule: &str, pattern: &Value, arn: &str) {
    aws(
        "events",
        "PutRule",
        json!({"Name": rule, "EventBusName": bus, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
    );
    let out = aws(
        "events",
        "PutTargets",
        json!({"Rule": rule, "EventBusName": bus, "Targets": [{"Id": "queue", "Arn": arn}]}),
    );
    assert_eq!(out["FailedEntryCount"], 0, "PutTargets: {out}");
}

/// Sends a message body to a queue (a duplicate or late delivery, by hand).
pub fn send(queue_url: &str, body: &str) {
    aws(
        "sqs",
        "SendMessage",
        json!({"QueueUrl": queue_url, "MessageBody": body}),
    );
}

pub fn http_post(endpoint: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let host = endpoint
        .strip_prefix("http://")
        .expect("DEPOT_TEST_AWS_ENDPOINT is http://HOST:PORT")
        .trim_end_matches('/');
    let mut s = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut rest = rest;
        loop {
            let (size, after) = rest.split_once("\r\n").expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    (status, body)
}

/// One AWS JSON-protocol call; panics unless it succeeds.
pub fn aws(service: &str, target: &str, body: Value) -> Value {
    let (content_type, prefix) = match service {
        "events" => ("application/x-amz-json-1.1", "AWSEvents"),
        "sqs" => ("application/x-amz-json-1.0", "AmazonSQS"),
        other => panic!("no such service here: {other}"),
    };
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=test/20250101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let amz_target = format!("{prefix}.{target}");
    let (status, text) = http_post(
        &endpoint(),
        &[
            ("Content-Type", content_type),
            ("X-Amz-Target", &amz_target),
            ("Authorization", &auth),
        ],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{amz_target} failed: HTTP {status}: {text}");
    if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{amz_target}: {e}: {text}"))
    }
}

/// Receives (and deletes) messages until `want` have arrived or `within` has passed;
/// returns their bodies as JSON, in the order received.
pub fn receive(queue_url: &str, want: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    loop {
        let out = aws(
            "sqs",
            "ReceiveMessage",
            json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
        );
        for m in out["Messages"].as_array().cloned().unwrap_or_default() {
            let body = m["Body"].as_str().expect("Body");
            got.push(serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")));
            aws(
                "sqs",
                "DeleteMessage",
                json!({"QueueUrl": queue_url, "ReceiptHandle": m["ReceiptHandle"]}),
            );
        }
        if got.len() >= want || Instant::now() >= deadline {
            return got;
        }
    }
}
