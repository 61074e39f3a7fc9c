//! The executor as a Lambda function, end to end without AWS: the real binary (this
//! build's `depot-migrate`, which is the `bootstrap` of the Lambda package) runs its
//! Lambda loop against a local runtime API (`tests/lambda-runtime/runtime_api.py`), with
//! the migration bundle in S3, the database secret in Secrets Manager and the lifecycle
//! events on EventBridge, all on moto_server (`DEPOT_TEST_AWS_ENDPOINT`), and the
//! database on the real PostgreSQL (`DEPOT_TEST_PG_URL`); scripts/with-services.sh starts
//! both. The AWS resources are made with boto3 (`tests/lambda-runtime/aws_fixture.py`).
//!
//! The requests are the CDK Provider framework's: the CloudFormation custom-resource
//! event (RequestType, ResourceProperties, OldResourceProperties, PhysicalResourceId…)
//! passed to the user function, whose error message the framework puts into the reason.
//! `DEPOT_LAMBDA_BOOTSTRAP=path` runs them against another build (the static bootstrap).
//! What only AWS can show (the framework's own Lambda, IAM, VPC networking, the RDS CA)
//! is listed in docs/lambda.md ("Tests"), not imitated here.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{pg_connect, Ctx, Engine, BIN};

const REGION: &str = "eu-west-1";
/// The runner function's name (its `AWS_LAMBDA_FUNCTION_NAME`).
const FUNCTION: &str = "depot-migrate-runner";
/// The secret's password: the test server trusts every local connection, so any value
/// works, and a distinctive one shows whether it leaks into logs or answers.
const PASSWORD: &str = "Pw-d0-not-LEAK-7f3";

fn endpoint() -> String {
    std::env::var("DEPOT_TEST_AWS_ENDPOINT").expect(
        "DEPOT_TEST_AWS_ENDPOINT is not set: run the tests through scripts/with-services.sh (or scripts/test.sh), which starts moto_server",
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn short() -> String {
    uuid_like()
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{:x}{:x}{}",
        std::process::id(),
        t % 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `aws_fixture.py` against moto; returns its JSON.
fn fixture(args: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(repo().join("tests/lambda-runtime/aws_fixture.py"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run aws_fixture.py");
    assert!(
        out.status.success(),
        "aws_fixture.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("aws_fixture.py prints JSON")
}

/// The RDS-shaped secret for a PostgreSQL URL of the test server.
fn rds_secret(url: &str) -> Value {
    let rest = url.split_once("://").expect("a URL").1;
    let (userhost, db) = rest.split_once('/').expect("a database");
    let hostport = userhost.rsplit('@').next().expect("host");
    let (host, port) = hostport.split_once(':').expect("a port");
    json!({
        "username": "postgres", "password": PASSWORD, "engine": "postgres",
        "host": host, "port": port.parse::<u16>().expect("port"), "dbname": db.split('?').next(),
        "dbInstanceIdentifier": "test",
    })
}

/// A local runtime API and the binary running its Lambda loop against it.
struct Lambda {
    api: Child,
    function: Child,
    addr: String,
    spawned_at: f64,
    stderr_path: PathBuf,
    bootstrap: String,
}

impl Lambda {
    fn start(ctx: &Ctx, secret_arn: &str) -> Lambda {
        Lambda::start_with(ctx, secret_arn, &[])
    }

    /// [`Lambda::start`] with more environment for the function (its configuration). The
    /// runtime API also serves its stand-in of the Lambda Invoke API, checking SigV4 with
    /// the test's secret key (`testing`).
    fn start_with(ctx: &Ctx, secret_arn: &str, env: &[(&str, &str)]) -> Lambda {
        let mut api = Command::new("python3")
            .arg(repo().join("tests/lambda-runtime/runtime_api.py"))
            .args(["--port", "0", "--function-timeout", "120"])
            .args(["--invoke-secret", "testing", "--invoke-function", FUNCTION])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start runtime_api.py");
        let mut first = String::new();
        BufReader::new(api.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("runtime_api.py prints its address");
        let addr = first.trim().to_string();
        assert!(
            addr.starts_with("127.0.0.1:"),
            "runtime_api.py said {addr:?}"
        );
        let stderr_path = ctx.dir.join("function.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let spawned_at = unix_now();
        // DEPOT_LAMBDA_BOOTSTRAP runs these tests against another build of the binary,
        // e.g. the static one of scripts/build-lambda.sh.
        let bootstrap = std::env::var("DEPOT_LAMBDA_BOOTSTRAP").unwrap_or_else(|_| BIN.into());
        let mut function = Command::new(&bootstrap);
        function
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("DEPOT_DB_SECRET_ARN", secret_arn)
            // The test server has no TLS; Lambda's default is `require`.
            .env("DEPOT_DB_SSLMODE", "disable")
            .current_dir(&ctx.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            function.env(k, v);
        }
        let function = function.spawn().expect("start the function");
        Lambda {
            api,
            function,
            addr,
            spawned_at,
            stderr_path,
            bootstrap,
        }
    }

    fn http(&self, method: &str, path: &str, body: &str) -> Value {
        let mut s = TcpStream::connect(&self.addr).expect("connect to the runtime API");
        s.set_read_timeout(Some(Duration::from_secs(180)))
            .expect("timeout");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("send");
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read");
        let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    /// Invokes the function; returns (kind, payload): kind is `response` or `error`.
    fn invoke(&mut self, event: &Value) -> (String, Value) {
        if let Ok(Some(status)) = self.function.try_wait() {
            panic!("the function exited ({status}): {}", self.stderr());
        }
        let r = self.http("POST", "/invoke", &event.to_string());
        (
            r["kind"].as_str().unwrap_or("?").to_string(),
            r["payload"].clone(),
        )
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Seconds from spawning the binary to its first request for an invocation.
    fn init_seconds(&self) -> f64 {
        let stats = self.http("GET", "/stats", "");
        stats["firstNextAt"].as_f64().unwrap_or(f64::NAN) - self.spawned_at
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        let _ = self.api.kill();
        let _ = self.api.wait();
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// One test's AWS side: the bundle bucket, the secret, the bus and a queue that captures
/// what reaches the bus.
struct Aws {
    bucket: String,
    secret_arn: String,
    bus: String,
    capture_url: String,
}

impl Aws {
    fn new(ctx: &Ctx) -> Aws {
        let id = short();
        let bucket = format!("assets-{id}");
        let secret = fixture(&[
            "create-secret",
            &format!("db-{id}"),
            &rds_secret(&ctx.url).to_string(),
        ]);
        let bus = format!("bus-{id}");
        let capture = fixture(&["capture", &bus]);
        Aws {
            bucket,
            secret_arn: secret["arn"].as_str().expect("arn").to_string(),
            bus,
            capture_url: capture["queueUrl"].as_str().expect("queue").to_string(),
        }
    }

    /// The lifecycle events that reached the bus since the last call.
    fn events(&self) -> Vec<Value> {
        let v = fixture(&["drain", &self.capture_url, "1.5"]);
        v.as_array().cloned().unwrap_or_default()
    }
}

/// Writes a migration bundle (as DatasetMigration does) to S3; returns its properties.
fn bundle(
    ctx: &Ctx,
    aws: &Aws,
    package: &Value,
    dataset: &Value,
    baseline: Option<&Value>,
) -> Value {
    let name = short();
    let pkg = ctx.write_json(&format!("pkg-{name}.json"), package);
    let ds = ctx.write_json(&format!("ds-{name}.json"), dataset);
    let hash = ctx.hash(&pkg, &ds);
    let mut args = vec!["plan", "--package", &pkg, "--dataset", &ds];
    let base_path;
    if let Some(b) = baseline {
        base_path = ctx.write_json(&format!("base-{name}.json"), b);
        args.extend(["--from-package", &base_path]);
    }
    let plan = ctx.cli(&args);
    plan.ok();
    let doc = json!({
        "formatVersion": 1, "versionHash": hash, "dataset": dataset, "package": package,
        "plan": plan.json(),
    });
    let file = ctx.write_json(&format!("bundle-{name}.json"), &doc);
    let key = format!("{hash}.json");
    fixture(&["put-object", &aws.bucket, &key, &file]);
    json!({"versionHash": hash, "bundleBucket": aws.bucket, "bundleKey": key})
}

/// A CloudFormation custom-resource request as the Provider framework passes it on.
fn cfn(request_type: &str, props: &Value, old: Option<&Value>, physical: Option<&str>) -> Value {
    let mut props = props.clone();
    props["ServiceToken"] = json!(
        "arn:aws:lambda:eu-west-1:123456789012:function:Stack-RunnerProviderframeworkonEvent"
    );
    let mut e = json!({
        "RequestType": request_type,
        "ServiceToken": props["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/x",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/Data/1b2c",
        "RequestId": short(),
        "LogicalResourceId": "DogsMigration1A2B3C",
        "ResourceType": "Custom::DepotMigration",
        "ResourceProperties": props,
    });
    if let Some(o) = old {
        e["OldResourceProperties"] = o.clone();
    }
    if let Some(p) = physical {
        e["PhysicalResourceId"] = json!(p);
    }
    e
}

fn example(name: &str) -> Value {
    support::example_json(name)
}

fn columns(ctx: &Ctx) -> Vec<String> {
    let mut c = pg_connect(&ctx.url);
    c.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'dog' ORDER BY column_name",
        &[&ctx.schema],
    )
    .expect("columns")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[test]
fn custom_resource_create_update_rollback_delete() {
    let ctx = Ctx::new(Engine::Postgres, "lambda_cr");
    let aws = Aws::new(&ctx);
    let dataset = ctx.dataset_json(json!({"eventBusName": aws.bus}));
    let v1 = example("dogs.v1.package.json");
    let v2 = example("dogs.v2.package.json");
    let p1 = bundle(&ctx, &aws, &v1, &dataset, None);
    let p2 = bundle(&ctx, &aws, &v2, &dataset, Some(&v1));
    let mut lambda = Lambda::start(&ctx, &aws.secret_arn);
    let physical = format!("depot-migrate:e2e404529091ed2:{}", ctx.dataset_id);

    // Create: the first version is deployed.
    let started = Instant::now();
    let (kind, answer) = lambda.invoke(&cfn("Create", &p1, None, None));
    let first_invoke = started.elapsed();
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer["PhysicalResourceId"], json!(physical));
    assert_eq!(answer["Data"]["result"], "deployed");
    assert_eq!(answer["Data"]["deployedVersion"], p1["versionHash"]);
    eprintln!(
        "cold start of {}: {:.0} ms from spawn to the first /next; first Create (SDK config, S3, Secrets Manager, migration, events) {:.0} ms",
        lambda.bootstrap,
        lambda.init_seconds() * 1000.0,
        first_invoke.as_secs_f64() * 1000.0
    );
    let status = ctx.status(&ctx.write_json("ds.json", &dataset));
    assert_eq!(status["deployedVersion"], p1["versionHash"]);
    assert_eq!(status["phase"], "stable");
    assert!(columns(&ctx).contains(&"owner_name".to_string()));
    let events = aws.events();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["detail"]["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(names, ["attempted", "deployed"]);
    let uri = format!(
        "s3://{}/{}",
        aws.bucket,
        p1["bundleKey"].as_str().unwrap_or("")
    );
    assert!(events
        .iter()
        .all(|e| e["detail"]["environmentUri"] == json!(uri)));
    assert!(events
        .iter()
        .all(|e| e["detail"]["datasetVersionHash"] == p1["versionHash"]));

    // Update to the second version (its plan made from the first as the baseline).
    let (kind, answer) = lambda.invoke(&cfn("Update", &p2, Some(&p1), Some(&physical)));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(
        answer["PhysicalResourceId"],
        json!(physical),
        "stable: no replacement"
    );
    assert_eq!(answer["Data"]["result"], "deployed");
    assert_eq!(answer["Data"]["deployedVersion"], p2["versionHash"]);
    let cols = columns(&ctx);
    assert!(cols.contains(&"owner".to_string()) && cols.contains(&"active".to_string()));
    assert_eq!(aws.events().len(), 2);

    // The same version again (another property changed): nothing runs, no events.
    let mut p2b = p2.clone();
    p2b["lockWait"] = json!("20s");
    let (kind, answer) = lambda.invoke(&cfn("Update", &p2b, Some(&p2), Some(&physical)));
    assert_eq!(kind, "response", "{answer}");
    assert_eq!(answer["Data"]["result"], "unchanged");

    // Stack rollback: CloudFormation sends an Update back to the first version. Forward
    // only: success, nothing runs, no lifecycle event, history records it.
    let revision_before = ctx.status(&ctx.path("ds.json"))["version"].clone();
    let (kind, answer) = lambda.invoke(&cfn("Update", &p1, Some(&p2b), Some(&physical)));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer["Data"]["result"], "rollbackSkipped");
    assert_eq!(answer["Data"]["deployedVersion"], p2["versionHash"]);
    let status = ctx.status(&ctx.path("ds.json"));
    assert_eq!(status["deployedVersion"], p2["versionHash"]);
    assert_eq!(status["desiredVersion"], p2["versionHash"]);
    assert_eq!(
        status["version"],
        json!(revision_before.as_i64().unwrap_or(0) + 1)
    );
    assert_eq!(columns(&ctx), cols, "a rollback never changes the schema");
    let history = ctx.history(&ctx.path("ds.json"));
    let last = history.last().expect("history");
    assert_eq!(last["event"], "rollbackSkipped", "{last}");
    assert_eq!(last["version"], p1["versionHash"]);
    assert!(
        aws.events().is_empty(),
        "a skipped rollback publishes no lifecycle event"
    );

    // Delete (removalPolicy retain, the default): the schema and its state stay.
    let (kind, answer) = lambda.invoke(&cfn("Delete", &p2, None, Some(&physical)));
    assert_eq!(kind, "response", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], json!(physical));
    assert_eq!(answer["Data"]["result"], "retained");
    assert_eq!(columns(&ctx), cols);
    assert_eq!(
        ctx.status(&ctx.path("ds.json"))["deployedVersion"],
        p2["versionHash"]
    );

    let log = lambda.stderr();
    assert!(
        !log.contains(PASSWORD),
        "the password leaked into the log: {log}"
    );
}

#[test]
fn failed_migration_fails_the_deployment_and_its_rollback_changes_nothing() {
    let ctx = Ctx::new(Engine::Postgres, "lambda_fail");
    let aws = Aws::new(&ctx);
    let dataset = ctx.dataset_json(json!({"eventBusName": aws.bus}));
    let v1 = example("dogs.v1.package.json");
    let v2 = example("dogs.v2.package.json");
    let p1 = bundle(&ctx, &aws, &v1, &dataset, None);
    let p2 = bundle(&ctx, &aws, &v2, &dataset, Some(&v1));
    let mut lambda = Lambda::start(&ctx, &aws.secret_arn);
    let physical = format!("depot-migrate:e2e404529091ed2:{}", ctx.dataset_id);
    let ds_path = ctx.write_json("ds.json", &dataset);

    let (kind, answer) = lambda.invoke(&cfn("Create", &p1, None, None));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    aws.events();

    // An index of the same name makes v2's CREATE INDEX fail (SQLSTATE 42P07).
    pg_connect(&ctx.url)
        .batch_execute(&format!(
            "CREATE INDEX dog_name_idx ON \"{}\".dog (weight)",
            ctx.schema
        ))
        .expect("the conflicting index");
    let (kind, answer) = lambda.invoke(&cfn("Update", &p2, Some(&p1), Some(&physical)));
    assert_eq!(kind, "error", "{answer}");
    let reason = answer["errorMessage"].as_str().unwrap_or_default();
    assert!(
        reason.contains("createIndex:dog.dog_name_idx")
            && reason.contains("42P07")
            && reason.contains("rolled back"),
        "the reason names the step, the SQLSTATE and the database's state: {reason}"
    );
    let status = ctx.status(&ds_path);
    assert_eq!(status["deployedVersion"], p1["versionHash"]);
    assert_eq!(status["phase"], "failed");
    let names: Vec<String> = aws
        .events()
        .iter()
        .map(|e| e["detail"]["event"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(names, ["attempted", "failed"]);

    // CloudFormation rolls back: an Update to the deployed version. Nothing runs, the
    // failure stays on record for the operator.
    let (kind, answer) = lambda.invoke(&cfn("Update", &p1, Some(&p2), Some(&physical)));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer["Data"]["result"], "rollbackSkipped");
    let status = ctx.status(&ds_path);
    assert_eq!(status["deployedVersion"], p1["versionHash"]);
    assert_eq!(status["attemptedVersion"], p2["versionHash"]);
    assert!(status["lastFailure"].is_object());

    // Fixed (the index dropped), the next deployment of v2 goes through.
    pg_connect(&ctx.url)
        .batch_execute(&format!("DROP INDEX \"{}\".dog_name_idx", ctx.schema))
        .expect("drop the index");
    let (kind, answer) = lambda.invoke(&cfn("Update", &p2, Some(&p1), Some(&physical)));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer["Data"]["result"], "deployed");
    assert_eq!(ctx.status(&ds_path)["phase"], "stable");
}

#[test]
fn bad_bundles_and_stale_plans_are_refused_before_anything_runs() {
    let ctx = Ctx::new(Engine::Postgres, "lambda_bad");
    let aws = Aws::new(&ctx);
    let dataset = ctx.dataset_json(json!({"eventBusName": aws.bus}));
    let v1 = example("dogs.v1.package.json");
    let v2 = example("dogs.v2.package.json");
    let v3 = example("dogs.v3.package.json");
    let p1 = bundle(&ctx, &aws, &v1, &dataset, None);
    let mut lambda = Lambda::start(&ctx, &aws.secret_arn);

    // A versionHash that the bundle's contents do not hash to.
    let mut wrong = p1.clone();
    wrong["versionHash"] = json!("0".repeat(64));
    let (kind, answer) = lambda.invoke(&cfn("Create", &wrong, None, None));
    assert_eq!(kind, "error");
    let m = answer["errorMessage"].as_str().unwrap_or_default();
    assert!(m.contains("hash to") && m.contains(&"0".repeat(64)), "{m}");

    // A bundle that is not there.
    let mut missing = p1.clone();
    missing["bundleKey"] = json!("nope.json");
    let (kind, answer) = lambda.invoke(&cfn("Create", &missing, None, None));
    assert_eq!(kind, "error");
    assert!(
        answer["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("s3://"),
        "{answer}"
    );
    assert!(ctx
        .cli(&[
            "status",
            "--dataset",
            &ctx.write_json("ds.json", &dataset),
            "--db",
            &ctx.url,
            "--output",
            "json"
        ])
        .json()["deployedVersion"]
        .is_null());

    // Deploy v1, then a v3 bundle whose plan was made from v2 (a stale baseline): refused.
    let (kind, answer) = lambda.invoke(&cfn("Create", &p1, None, None));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    let allow = ctx.dataset_json(json!({"eventBusName": aws.bus, "allowDestructive": true}));
    let p3 = bundle(&ctx, &aws, &v3, &allow, Some(&v2));
    let (kind, answer) = lambda.invoke(&cfn("Update", &p3, Some(&p1), None));
    assert_eq!(kind, "error", "{answer}");
    let m = answer["errorMessage"].as_str().unwrap_or_default();
    assert!(m.contains("stale plan"), "{m}");
    assert_eq!(
        ctx.status(&ctx.path("ds.json"))["deployedVersion"],
        p1["versionHash"]
    );

    // An event the function does not know: an error, and the function keeps serving.
    let (kind, answer) = lambda.invoke(&json!({"hello": "world"}));
    assert_eq!(kind, "error");
    assert_eq!(answer["errorType"], "UnknownEvent");
    let (kind, _) = lambda.invoke(&cfn("Delete", &p1, None, Some("x")));
    assert_eq!(kind, "response");
}

/// Submits `package` for the asynchronous dataset; returns the `desired` envelope.
fn submit(ctx: &Ctx, package: &str, dataset: &str) -> Value {
    let events = ctx.path(&format!("submit-{}.jsonl", short()));
    let r = ctx.cli(&[
        "submit",
        "--package",
        package,
        "--dataset",
        dataset,
        "--db",
        &ctx.url,
        "--events",
        &format!("jsonl:{events}"),
    ]);
    r.ok();
    let text = std::fs::read_to_string(&events).expect("the submit events");
    let desired: Vec<Value> = support::parse_jsonl(&text, "submit events")
        .into_iter()
        .filter(|e| e["detail"]["event"] == "desired")
        .collect();
    assert_eq!(desired.len(), 1, "{text}");
    desired[0].clone()
}

#[test]
fn sqs_batches_run_desired_events_once_and_report_only_what_must_come_back() {
    let ctx = Ctx::new(Engine::Postgres, "lambda_sqs");
    let aws = Aws::new(&ctx);
    let ds = ctx.dataset(
        "ds.json",
        json!({"eventBusName": aws.bus, "migrationMode": "asynchronous"}),
    );
    let queue = fixture(&["create-queue", &format!("desired-{}", short())]);
    let queue_url = queue["queueUrl"].as_str().expect("url").to_string();
    let mut lambda = Lambda::start(&ctx, &aws.secret_arn);
    let v1 = support::example("dogs.v1.package.json");
    let v2 = support::example("dogs.v2.package.json");

    // A desired event, its duplicate, and an event that is not `desired`.
    let desired = submit(&ctx, &v1, &ds).to_string();
    let r1 = fixture(&["send-receive", &queue_url, &desired]);
    let r2 = fixture(&["send-receive", &queue_url, &desired]);
    let other = json!({"detail": {"type": "lifecycle", "event": "deployed"}}).to_string();
    let r3 = fixture(&["send-receive", &queue_url, &other]);
    let (kind, answer) = lambda.invoke(&json!({"Records": [r1, r2, r3]}));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let status = ctx.status(&ds);
    assert_eq!(status["deployedVersion"], status["desiredVersion"]);
    assert_eq!(status["phase"], "stable");
    let names: Vec<String> = aws
        .events()
        .iter()
        .map(|e| e["detail"]["event"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(
        names,
        ["attempted", "deployed"],
        "ran once: the duplicate was skipped"
    );
    assert!(lambda.stderr().contains("skipped"), "{}", lambda.stderr());

    // While another executor holds the dataset's lock, the record is reported as a batch
    // item failure (it comes back), and the next delivery runs it.
    let desired = submit(&ctx, &v2, &ds).to_string();
    let mut holder = pg_connect(&ctx.url);
    holder
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[
                &support::LOCK_NAMESPACE,
                &support::lock_key(&ctx.dataset_id),
            ],
        )
        .expect("hold the dataset's lock");
    let r = fixture(&["send-receive", &queue_url, &desired]);
    let id = r["messageId"].clone();
    let (kind, answer) = lambda.invoke(&json!({"Records": [r]}));
    assert_eq!(kind, "response", "{answer}");
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": id}]})
    );
    assert_ne!(
        ctx.status(&ds)["deployedVersion"],
        ctx.status(&ds)["desiredVersion"]
    );
    drop(holder);
    let r = fixture(&["send-receive", &queue_url, &desired]);
    let (kind, answer) = lambda.invoke(&json!({"Records": [r]}));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let status = ctx.status(&ds);
    assert_eq!(
        status["deployedVersion"],
        status["desiredVersion"],
        "{}",
        lambda.stderr()
    );
    assert!(columns(&ctx).contains(&"active".to_string()));

    // The watchdog schedule: nothing is lost or overdue, so no findings.
    let (kind, answer) = lambda.invoke(&json!({
        "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-01T00:00:00Z", "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/watchdog"], "detail": {},
    }));
    assert_eq!(kind, "response", "{answer} {}", lambda.stderr());
    assert_eq!(answer["findings"], json!([]));
    assert!(!lambda.stderr().contains(PASSWORD));
}

/// `depot-migrate … --runner FUNCTION` with the AWS side pointed at the test's stand-ins:
/// STS (GetCallerIdentity) on moto, the Lambda Invoke API on the runtime API's stand-in
/// (it stands in for AWS, which cannot run here: it checks the signed Invoke request and
/// hands its payload to the runtime API the real bootstrap polls).
fn runner_cli(ctx: &Ctx, lambda: &Lambda, function: &str, args: &[&str]) -> support::Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--runner", function]);
    let invoke_api = format!("http://{}", lambda.addr);
    let moto = endpoint();
    ctx.cli_env(
        &all,
        &[
            ("AWS_ENDPOINT_URL", moto.as_str()),
            ("AWS_ENDPOINT_URL_LAMBDA", invoke_api.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "AKIDTESTOPERATOR"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("COLUMNS", "160"),
        ],
    )
}

/// A dataset whose last migration failed (a unique index over duplicate names): v1
/// deployed, the failure on record, the database at v1.
fn failed_pg_dataset(ctx: &Ctx) -> String {
    let ds = ctx.dataset("d.dataset.json", json!({}));
    ctx.apply(
        &support::example("dogs.v1.package.json"),
        &ds,
        &["--events", "none"],
    )
    .ok();
    ctx.sql(&format!(
        "INSERT INTO {} (id, name) VALUES (1, 'Rex'), (2, 'Rex')",
        ctx.q("dog")
    ));
    let mut uq = example("dogs.v1.package.json");
    uq["tables"][0]["indexes"] =
        json!([{"name": "dog_name_uq", "columns": ["name"], "unique": true}]);
    let uq = ctx.write_json("uq.package.json", &uq);
    ctx.apply(&uq, &ds, &["--events", "none"]).expect_code(1);
    ds
}

#[test]
fn operator_requests_through_the_invoke_api_read_refuse_and_recover_as_the_caller() {
    let ctx = Ctx::new(Engine::Postgres, "lambda_operator");
    let aws = Aws::new(&ctx);
    let ds = failed_pg_dataset(&ctx);
    let id = ctx.dataset_id.clone();
    let local = |cmd: &str, extra: &[&str]| {
        let mut args = vec![cmd, "--dataset-id", &id, "--db", &ctx.url];
        args.extend_from_slice(extra);
        ctx.cli_env(&args, &[("COLUMNS", "160")])
    };

    // The runner's configuration allows the reads only (no DEPOT_RUNNER_OPERATIONS).
    let mut lambda = Lambda::start(&ctx, &aws.secret_arn);

    // A read: the same JSON document as the local command, and the same text.
    let remote = runner_cli(
        &ctx,
        &lambda,
        FUNCTION,
        &["status", "--dataset-id", &id, "--output", "json"],
    );
    remote.ok();
    let here = local("status", &["--output", "json"]);
    here.ok();
    assert_eq!(
        remote.json(),
        here.json(),
        "status through the runner = local status"
    );
    assert_eq!(remote.json()["phase"], "failed");
    assert!(
        remote
            .stderr
            .contains(&format!("runner {FUNCTION}: Lambda request ")),
        "{}",
        remote.stderr
    );
    let text = runner_cli(&ctx, &lambda, FUNCTION, &["status", "--dataset-id", &id]);
    text.ok();
    let local_text = local("status", &[]);
    let without_since = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with("since"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        without_since(&text.stdout),
        without_since(&local_text.stdout)
    );
    assert!(text.stdout.contains("class step"), "{}", text.stdout);
    // history and list, by ARN (the name in the path is URL-encoded, and signed so).
    let arn = format!("arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}");
    let h = runner_cli(
        &ctx,
        &lambda,
        &arn,
        &["history", "--dataset-id", &id, "--output", "json"],
    );
    h.ok();
    assert_eq!(h.json(), local("history", &["--output", "json"]).json());
    let l = runner_cli(&ctx, &lambda, FUNCTION, &["list", "--output", "json"]);
    l.ok();
    let l_here = ctx.cli(&["list", "--db", &ctx.url, "--output", "json"]);
    assert_eq!(l.json(), l_here.json());
    // A refusal travels as the local one: exit 3, its code, its message.
    let missing = runner_cli(
        &ctx,
        &lambda,
        FUNCTION,
        &["status", "--dataset-id", "nope", "--output", "json"],
    );
    missing.expect_code(3);
    assert_eq!(missing.json()["code"], "DR1013", "{}", missing.stdout);

    // A mutating operation the configuration does not allow: refused, nothing changed.
    let before = ctx.status(&ds);
    let r = runner_cli(
        &ctx,
        &lambda,
        FUNCTION,
        &[
            "recover",
            "--dataset-id",
            &id,
            "--resolve",
            "rolled-back",
            "--reason",
            "duplicates stay",
            "--output",
            "json",
        ],
    );
    r.expect_code(3);
    assert_eq!(r.json()["code"], "DR1520", "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "refused: the runner {FUNCTION} does not allow recover"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(
        ctx.status(&ds),
        before,
        "a refused operation changes nothing"
    );
    // Requests the CLI would never send are refused by the runner, with their codes.
    let (kind, answer) = lambda.invoke(
        &json!({"depotMigrate": "operator", "version": 2, "operation": "status", "datasetId": id}),
    );
    assert_eq!(kind, "response");
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["error"]["code"], "DR1521", "{answer}");
    let (_, answer) = lambda
        .invoke(&json!({"depotMigrate": "operator", "version": 1, "operation": "dropEverything"}));
    assert_eq!(answer["error"]["code"], "DR1522", "{answer}");
    let (_, answer) = lambda.invoke(&json!({"depotMigrate": "operator", "version": 1, "operation": "status", "datasetId": id, "db": "postgres://elsewhere"}));
    assert_eq!(answer["error"]["code"], "DR1523", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("db"),
        "{answer}"
    );
    drop(lambda);

    // The stack granted operate (DEPOT_RUNNER_OPERATIONS): recover runs in the runner,
    // acting as the caller.
    let lambda = Lambda::start_with(
        &ctx,
        &aws.secret_arn,
        &[
            (
                "DEPOT_RUNNER_OPERATIONS",
                "status,history,snapshot,list,wait,recover,eventsFlush,watchdog",
            ),
            ("DEPOT_EVENTS", "none"),
        ],
    );
    let caller = fixture(&["caller-identity"]);
    let arn_of_caller = caller["arn"].as_str().expect("an ARN");
    let r = runner_cli(
        &ctx,
        &lambda,
        FUNCTION,
        &[
            "recover",
            "--dataset-id",
            &id,
            "--resolve",
            "rolled-back",
            "--reason",
            "duplicates stay",
            "--output",
            "json",
        ],
    );
    r.ok();
    assert_eq!(r.json()["ok"], true, "{}", r.stdout);
    assert_eq!(r.json()["resolve"], "rolled-back");
    assert_eq!(ctx.status(&ds)["phase"], "stable");
    let request_id = r
        .stderr
        .lines()
        .find_map(|l| l.split("Lambda request ").nth(1))
        .expect("the request id on stderr")
        .trim()
        .to_string();
    let history = ctx.history(&ds);
    let last = history.last().expect("history");
    assert_eq!(last["reason"], "duplicates stay", "{last}");
    let actor = last["actor"].as_str().unwrap_or_default();
    assert_eq!(
        actor,
        format!("{arn_of_caller} via runner {FUNCTION} (Lambda request {request_id})"),
        "history records the caller's identity beside the Lambda request id"
    );
    // The other operations answer as their local commands do.
    let snap = runner_cli(&ctx, &lambda, FUNCTION, &["snapshot", "--dataset-id", &id]);
    snap.ok();
    assert_eq!(snap.json(), local("snapshot", &[]).json(), "snapshot");
    let flush = runner_cli(
        &ctx,
        &lambda,
        FUNCTION,
        &["events", "flush", "--output", "json"],
    );
    flush.ok();
    assert_eq!(
        flush.json(),
        json!({"ok": true, "published": 0}),
        "{}",
        flush.stderr
    );
    assert!(
        flush.stderr.contains("0 event(s) published"),
        "{}",
        flush.stderr
    );
    let dog = runner_cli(&ctx, &lambda, FUNCTION, &["watchdog", "--output", "json"]);
    dog.ok();
    assert_eq!(dog.json(), json!({"ok": true, "findings": []}));
    let deployed = ctx.status(&ds)["deployedVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let w = runner_cli(
        &ctx,
        &lambda,
        FUNCTION,
        &[
            "wait",
            "--dataset-id",
            &id,
            "--version",
            &deployed,
            "--timeout",
            "5s",
            "--output",
            "json",
        ],
    );
    w.ok();
    assert_eq!(w.json()["result"], "deployed");
    // The stand-in saw signed RequestResponse invocations of the runner, and nothing else.
    let stats = lambda.http("GET", "/stats", "");
    let calls = stats["invokeApiCalls"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!calls.is_empty());
    for c in &calls {
        assert_eq!(c["problem"], Value::Null, "{c}");
        assert_eq!(c["invocationType"], "RequestResponse", "{c}");
        assert_eq!(c["authorization"], "AWS4-HMAC-SHA256", "{c}");
    }
    assert!(calls.iter().any(|c| c["requestId"] == json!(request_id)));
    assert!(!lambda.stderr().contains(PASSWORD));
    assert!(
        lambda.stderr().contains("operator: recover by "),
        "{}",
        lambda.stderr()
    );
}

#[test]
fn a_badly_signed_invoke_is_refused_by_the_stand_in_and_nothing_runs() {
    let ctx = Ctx::new(Engine::Postgres, "lambda_badsig");
    let aws = Aws::new(&ctx);
    let lambda = Lambda::start(&ctx, &aws.secret_arn);
    let invoke_api = format!("http://{}", lambda.addr);
    let moto = endpoint();
    let r = ctx.cli_env(
        &["list", "--runner", FUNCTION, "--output", "json"],
        &[
            ("AWS_ENDPOINT_URL", moto.as_str()),
            ("AWS_ENDPOINT_URL_LAMBDA", invoke_api.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "AKIDTESTOPERATOR"),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    r.expect_code(1);
    assert_eq!(r.json()["code"], "DR1524", "{}", r.stdout);
    assert!(
        r.stderr.contains("InvalidSignatureException"),
        "{}",
        r.stderr
    );
    let stats = lambda.http("GET", "/stats", "");
    assert_eq!(
        stats["nextCalls"], 1,
        "the function got no invocation: {stats}"
    );
}
