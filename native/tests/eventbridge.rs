//! `--events eventbridge` against moto_server (EventBridge + SQS), which
//! scripts/with-services.sh starts and exports as `DEPOT_TEST_AWS_ENDPOINT`.
//!
//! Each test makes its own bus, queue and rule (a rule with the lifecycle pattern on the
//! bus, targeting the queue), runs the `depot-migrate` binary with `AWS_ENDPOINT_URL` and
//! dummy credentials set on that process only, and reads what arrives on the queue. The
//! calls to moto are plain HTTP (AWS JSON protocol; moto routes on the credential scope
//! and does not check signatures), so the tests add no AWS SDK crates to the build.

use depot_migrate_core::lifecycle::event_pattern;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

// The moto client shared with the other tests (unused helpers of it are fine here).
#[path = "support/aws.rs"]
#[allow(dead_code)]
mod aws;

use aws::{aws, endpoint, receive, REGION};

const BIN: &str = env!("CARGO_BIN_EXE_depot-migrate");

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// A bus, a queue, and a rule with the lifecycle pattern on the bus targeting the queue.
/// Returns the queue URL.
fn bus_with_queue(bus: &str) -> String {
    aws("events", "CreateEventBus", json!({"Name": bus}));
    let queue_url = aws("sqs", "CreateQueue", json!({"QueueName": bus}))["QueueUrl"]
        .as_str()
        .expect("QueueUrl")
        .to_string();
    let arn = aws(
        "sqs",
        "GetQueueAttributes",
        json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}),
    )["Attributes"]["QueueArn"]
        .as_str()
        .expect("QueueArn")
        .to_string();
    let pattern = event_pattern(&[], &[], &[]);
    assert_eq!(pattern["source"], json!(["tech.stage.depot"]));
    assert_eq!(pattern["detail-type"], json!(["migration-lifecycle"]));
    aws(
        "events",
        "PutRule",
        json!({"Name": "lifecycle", "EventBusName": bus, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
    );
    let out = aws(
        "events",
        "PutTargets",
        json!({"Rule": "lifecycle", "EventBusName": bus, "Targets": [{"Id": "queue", "Arn": arn}]}),
    );
    assert_eq!(out["FailedEntryCount"], 0, "PutTargets: {out}");
    queue_url
}

// ---------------------------------------------------------------------------------------
// The CLI.

struct Scratch {
    dir: PathBuf,
    bus: String,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let bus = format!("depot-{test}-{}-{nanos}", std::process::id());
        let dir = std::env::temp_dir().join(&bus);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir, bus }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    fn db(&self) -> String {
        format!("sqlite:{}", self.path("depot.sqlite"))
    }

    /// examples/dogs.dataset.json naming this test's bus.
    fn dataset(&self) -> (String, Value) {
        let text = std::fs::read_to_string(example("dogs.dataset.json")).expect("dataset");
        let mut ds: Value = serde_json::from_str(&text).expect("dataset JSON");
        ds["eventBusName"] = json!(self.bus);
        let path = self.path("dataset.json");
        std::fs::write(&path, ds.to_string()).expect("write dataset");
        (path, ds)
    }

    /// The outbox, oldest first: (event_id, envelope, published_at).
    fn outbox(&self) -> Vec<(String, Value, Option<String>)> {
        let conn = rusqlite::Connection::open(self.path("depot.sqlite")).expect("open db");
        let mut st = conn
            .prepare(
                "SELECT event_id, envelope, published_at FROM depot_migrate_outbox ORDER BY id",
            )
            .expect("outbox query");
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .expect("outbox rows")
            .map(|r| {
                let (id, env, at) = r.expect("row");
                (id, serde_json::from_str(&env).expect("envelope JSON"), at)
            })
            .collect();
        rows
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the CLI with `aws_endpoint` as AWS_ENDPOINT_URL, dummy credentials and a region,
/// and nothing from the caller's AWS environment.
fn cli(scratch: &Scratch, aws_endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("DEPOT_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", aws_endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", scratch.path("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.path("no-aws-credentials"),
        )
        .output()
        .expect("run depot-migrate")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    o
}

fn version_hash(scratch: &Scratch, dataset: &str) -> String {
    let pkg = example("dogs.v1.package.json");
    let o = ok(
        cli(
            scratch,
            &endpoint(),
            &[
                "hash",
                "--package",
                pkg.to_str().expect("path"),
                "--dataset",
                dataset,
            ],
        ),
        "hash",
    );
    let h = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert_eq!(h.len(), 64, "hash prints 64 hex digits: {h:?}");
    h
}

fn apply(scratch: &Scratch, aws_endpoint: &str, dataset: &str) -> Output {
    let pkg = example("dogs.v1.package.json");
    cli(
        scratch,
        aws_endpoint,
        &[
            "apply",
            "--package",
            pkg.to_str().expect("path"),
            "--dataset",
            dataset,
            "--db",
            &scratch.db(),
            "--events",
            "eventbridge",
        ],
    )
}

fn flush(scratch: &Scratch, aws_endpoint: &str) -> Output {
    cli(
        scratch,
        aws_endpoint,
        &[
            "events",
            "flush",
            "--db",
            &scratch.db(),
            "--events",
            "eventbridge",
            "--event-bus",
            &scratch.bus,
        ],
    )
}

/// The delivered envelopes are the outbox's, in outbox order, with the right detail.
fn check_delivered(
    got: &[Value],
    outbox: &[(String, Value, Option<String>)],
    ds: &Value,
    hash: &str,
) {
    let events: Vec<&str> = got
        .iter()
        .map(|e| e["detail"]["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(events, ["attempted", "deployed"], "delivered: {got:#?}");
    assert_eq!(outbox.len(), 2, "outbox: {outbox:#?}");
    for (e, (event_id, stored, published_at)) in got.iter().zip(outbox) {
        assert!(published_at.is_some(), "{event_id} is still pending");
        assert_eq!(e["source"], "tech.stage.depot");
        assert_eq!(e["detail-type"], "migration-lifecycle");
        assert_eq!(e["version"], "0");
        assert_eq!(e["region"], REGION);
        assert_eq!(e["resources"], json!([]));
        // Time is the state change's, as written to the outbox (not the publish time).
        assert_eq!(e["time"], stored["time"], "time of {event_id}");
        // The detail is exactly what the outbox holds.
        assert_eq!(e["detail"], stored["detail"], "detail of {event_id}");
        let d = &e["detail"];
        assert_eq!(d["type"], "lifecycle");
        assert_eq!(d["eventId"], json!(event_id));
        assert_eq!(d["datasetVersionHash"], hash);
        assert_eq!(d["datasetId"], ds["datasetId"]);
        assert_eq!(d["datasetAlias"], ds["datasetAlias"]);
        assert_eq!(d["environmentId"], ds["environmentId"]);
        assert_eq!(d["engine"], "sqlite");
        assert_eq!(d["migrationMode"], "synchronous");
        assert!(d["revision"].is_i64(), "revision in {d}");
        assert!(
            d["runId"].as_str().is_some_and(|r| !r.is_empty()),
            "runId in {d}"
        );
        assert!(d["planHash"].as_str().is_some(), "planHash in {d}");
    }
    assert_eq!(got[0]["detail"]["runId"], got[1]["detail"]["runId"]);
    assert_ne!(got[0]["detail"]["eventId"], got[1]["detail"]["eventId"]);
}

#[test]
fn apply_publishes_attempted_and_deployed_to_the_dataset_bus() {
    let s = Scratch::new("apply");
    let queue = bus_with_queue(&s.bus);
    let (dataset, ds) = s.dataset();
    let hash = version_hash(&s, &dataset);

    let o = ok(apply(&s, &endpoint(), &dataset), "apply");
    let err = stderr(&o);
    assert!(err.contains("deployed"), "stderr: {err}");
    assert!(!err.contains("warning"), "no warnings expected: {err}");

    let got = receive(&queue, 2, Duration::from_secs(10));
    check_delivered(&got, &s.outbox(), &ds, &hash);

    // Nothing pending: a flush publishes nothing, and a second apply is a silent no-op.
    let o = ok(flush(&s, &endpoint()), "events flush");
    assert!(
        stderr(&o).contains("0 event(s) published"),
        "{}",
        stderr(&o)
    );
    ok(apply(&s, &endpoint(), &dataset), "apply again");
    let more = receive(&queue, 1, Duration::from_secs(2));
    assert!(more.is_empty(), "nothing more expected: {more:#?}");
}

#[test]
fn outage_leaves_events_pending_and_flush_delivers_them_once_in_order() {
    let s = Scratch::new("outage");
    let queue = bus_with_queue(&s.bus);
    let (dataset, ds) = s.dataset();
    let hash = version_hash(&s, &dataset);

    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://127.0.0.1:{}", l.local_addr().expect("addr").port())
    };
    let o = ok(apply(&s, &closed, &dataset), "apply during an outage");
    let err = stderr(&o);
    assert!(err.contains("deployed"), "stderr: {err}");
    assert!(
        err.contains("not published yet") && err.contains("events flush"),
        "a warning that events are pending: {err}"
    );
    assert!(
        err.lines()
            .all(|l| !l.contains("AWS_SECRET") && !l.contains("aws_secret")),
        "{err}"
    );

    let pending = s.outbox();
    assert_eq!(pending.len(), 2, "outbox: {pending:#?}");
    assert!(
        pending.iter().all(|(_, _, at)| at.is_none()),
        "{pending:#?}"
    );
    assert!(receive(&queue, 1, Duration::from_secs(1)).is_empty());

    // Later than the state changes, so that Time = state change time is visible.
    std::thread::sleep(Duration::from_millis(1100));
    let o = ok(flush(&s, &endpoint()), "events flush");
    assert!(
        stderr(&o).contains("2 event(s) published"),
        "{}",
        stderr(&o)
    );
    let got = receive(&queue, 2, Duration::from_secs(10));
    check_delivered(&got, &s.outbox(), &ds, &hash);

    // At-least-once, but nothing is sent twice from our side.
    let o = ok(flush(&s, &endpoint()), "second events flush");
    assert!(
        stderr(&o).contains("0 event(s) published"),
        "{}",
        stderr(&o)
    );
    let more = receive(&queue, 1, Duration::from_secs(2));
    assert!(more.is_empty(), "nothing more expected: {more:#?}");
}

/// A stand-in for EventBridge that records each request body and answers every
/// `PutEvents` with `FailedEntryCount` 1: the first entry accepted, the others throttled.
fn partially_failing_eventbridge() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let log = log.clone();
            std::thread::spawn(move || loop {
                // One request: headers, then Content-Length bytes of body.
                let mut buf = Vec::new();
                let mut byte = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => buf.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                if conn.read_exact(&mut body).is_err() {
                    return;
                }
                let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = req["Entries"].as_array().map_or(0, Vec::len);
                log.lock().expect("log").push(req);
                let mut entries = vec![json!({"EventId": "accepted-1"})];
                for _ in 1..n {
                    entries.push(json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}));
                }
                let out = json!({"FailedEntryCount": n.saturating_sub(1), "Entries": entries})
                    .to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{out}",
                    out.len()
                );
                if conn.write_all(resp.as_bytes()).is_err() {
                    return;
                }
            });
        }
    });
    (url, seen)
}

#[test]
fn partial_failure_publishes_only_the_accepted_prefix() {
    let s = Scratch::new("partial");
    let queue = bus_with_queue(&s.bus);
    let (dataset, ds) = s.dataset();
    let hash = version_hash(&s, &dataset);

    // Both events pending (an outage during apply) ...
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://127.0.0.1:{}", l.local_addr().expect("addr").port())
    };
    ok(apply(&s, &closed, &dataset), "apply during an outage");
    assert_eq!(s.outbox().len(), 2);

    // ... then a flush to an EventBridge that accepts only the first of them.
    let (fake, seen) = partially_failing_eventbridge();
    // A flush that leaves events pending exits 1, so a pipeline can retry it.
    let o = flush(&s, &fake);
    assert_eq!(
        o.status.code(),
        Some(1),
        "events flush (partial failure): {}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(err.contains("still pending"), "{err}");
    assert!(err.contains("1 event(s) published"), "{err}");
    assert!(err.contains("ThrottlingException"), "{err}");
    let requests = seen.lock().expect("log").clone();
    assert_eq!(requests.len(), 1, "one PutEvents request: {requests:#?}");
    let entries = requests[0]["Entries"].as_array().expect("Entries").clone();
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let outbox = s.outbox();
    for (e, (_, stored, _)) in entries.iter().zip(&outbox) {
        // The wire format: the bus, the envelope's source, detail-type and detail (as a
        // JSON string), Time = the state change time (epoch seconds), no resources.
        assert_eq!(e["EventBusName"], json!(s.bus));
        assert_eq!(e["Source"], "tech.stage.depot");
        assert_eq!(e["DetailType"], "migration-lifecycle");
        let detail: Value =
            serde_json::from_str(e["Detail"].as_str().expect("Detail is a string")).expect("JSON");
        assert_eq!(detail, stored["detail"]);
        let t = humantime::parse_rfc3339(stored["time"].as_str().expect("time"))
            .expect("RFC 3339 time")
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        assert_eq!(e["Time"].as_f64(), Some(t as f64), "Time of {e}");
        assert_eq!(e["Resources"], json!([]));
    }
    assert!(
        outbox[0].2.is_some(),
        "the accepted event is marked published"
    );
    assert!(outbox[1].2.is_none(), "the throttled event stays pending");

    // The real bus then gets only the rest: the accepted event is not sent again.
    let o = ok(flush(&s, &endpoint()), "events flush");
    assert!(
        stderr(&o).contains("1 event(s) published"),
        "{}",
        stderr(&o)
    );
    let got = receive(&queue, 1, Duration::from_secs(10));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["detail"]["event"], "deployed");
    assert_eq!(got[0]["detail"]["datasetVersionHash"], hash);
    assert_eq!(got[0]["detail"]["datasetId"], ds["datasetId"]);
    assert_eq!(got[0]["detail"]["eventId"], json!(outbox[1].0));
    assert!(receive(&queue, 1, Duration::from_secs(1)).is_empty());
}

// ---- alert-rule ------------------------------------------------------------------------

fn alert_rule(s: &Scratch, dataset: &str, args: &[&str]) -> Output {
    let mut all = vec!["alert-rule", "--dataset", dataset];
    all.extend_from_slice(args);
    ok(cli(s, &endpoint(), &all), "alert-rule")
}

/// `alert-rule` prints a CloudFormation template that cfn-lint accepts, with the SNS
/// topic policy EventBridge needs, and a pattern that matches exactly the dataset's
/// chosen events (checked by EventBridge itself: moto's TestEventPattern), whose
/// alert message reads the real `datasetVersionHash` field.
#[test]
fn alert_rule_template_lints_and_its_pattern_and_message_work() {
    let s = Scratch::new("alert-rule");
    let (dataset, ds) = s.dataset();
    let arn = "arn:aws:sns:eu-west-1:123456789012:alerts";
    for args in [
        vec![
            "--topic-arn",
            arn,
            "--events",
            "failed",
            "--with-topic-policy",
        ],
        vec!["--with-topic-policy"],
    ] {
        let o = alert_rule(&s, &dataset, &args);
        let template: Value = serde_json::from_slice(&o.stdout).expect("template JSON");
        let policy = &template["Resources"]["MigrationLifecycleTopicPolicy"];
        assert_eq!(policy["Type"], "AWS::SNS::TopicPolicy");
        assert_eq!(
            policy["Properties"]["PolicyDocument"]["Statement"][0]["Principal"]["Service"],
            "events.amazonaws.com"
        );
        let path = s.path("template.json");
        std::fs::write(&path, &o.stdout).expect("write template");
        let lint = std::process::Command::new("cfn-lint")
            .arg(&path)
            .output()
            .expect("run cfn-lint (scripts/setup.sh installs it)");
        assert!(
            lint.status.success(),
            "cfn-lint: {}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        );
    }

    // The pattern and the alert message, through a real rule on the bus (moto's
    // TestEventPattern answers with an empty body, so the rule itself is the check):
    // of three events only this dataset's `failed` one arrives, as the alert text.
    let o = alert_rule(&s, &dataset, &["--format", "json", "--events", "failed"]);
    let pattern: Value = serde_json::from_slice(&o.stdout).expect("pattern JSON");
    let dataset_id = ds["datasetId"].as_str().expect("datasetId").to_string();
    let bus = s.bus.as_str();
    let queue_url = bus_with_queue(bus);
    let template: Value =
        serde_json::from_slice(&alert_rule(&s, &dataset, &["--topic-arn", arn]).stdout)
            .expect("template");
    let transformer = template["Resources"]["MigrationLifecycleRule"]["Properties"]["Targets"][0]
        ["InputTransformer"]
        .clone();
    let queue_arn = aws(
        "sqs",
        "GetQueueAttributes",
        json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}),
    )["Attributes"]["QueueArn"]
        .as_str()
        .expect("QueueArn")
        .to_string();
    aws(
        "events",
        "PutRule",
        json!({"Name": "lifecycle", "EventBusName": bus, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
    );
    aws(
        "events",
        "PutTargets",
        json!({"Rule": "lifecycle", "EventBusName": bus, "Targets": [{"Id": "queue", "Arn": queue_arn, "InputTransformer": transformer}]}),
    );
    let hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let entry = |event: &str, id: &str| {
        let detail = json!({"type": "lifecycle", "datasetId": id, "datasetAlias": "WsDevDogSrc", "event": event, "datasetVersionHash": hash, "environmentId": "e2e404529091ed2"});
        json!({"Source": "tech.stage.depot", "DetailType": "migration-lifecycle", "Detail": detail.to_string(), "EventBusName": bus})
    };
    let put = aws(
        "events",
        "PutEvents",
        json!({"Entries": [entry("deployed", &dataset_id), entry("failed", "another-dataset"), entry("failed", &dataset_id)]}),
    );
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    let messages = receive(&queue_url, 3, Duration::from_secs(5));
    assert_eq!(
        messages.len(),
        1,
        "only this dataset's failed event: {messages:?}"
    );
    let text = messages[0].to_string();
    assert!(
        text.contains(hash),
        "the message carries datasetVersionHash: {text}"
    );
    assert!(text.contains("lifecycle event: failed"), "{text}");
}
