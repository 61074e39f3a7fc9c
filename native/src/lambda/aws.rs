//! AWS calls of the Lambda handler: the SDK configuration (the slim SDK with one rustls
//! and ring, as the EventBridge sink), the migration bundle from S3, the database secret
//! from Secrets Manager, and SQS visibility. `AWS_ENDPOINT_URL` (a local moto_server in
//! the tests) is honoured by the SDK.

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::OnceCell;

static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

/// The shared SDK configuration (loaded once per execution environment).
pub async fn config() -> &'static SdkConfig {
    CONFIG
        .get_or_init(|| async {
            depot_migrate_aws::config::loader(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(20))
                    .build(),
            )
            .load()
            .await
        })
        .await
}

/// Reads an S3 object whole (the migration bundle), refusing one over `limit` bytes.
pub async fn s3_get(bucket: &str, key: &str, limit: usize) -> Result<Vec<u8>, String> {
    let client = aws_sdk_s3::Client::new(config().await);
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read the migration bundle s3://{bucket}/{key}: {}; check that the asset exists and that the function may read it (s3:GetObject)",
                sdk_message(&e)
            )
        })?;
    if out
        .content_length()
        .is_some_and(|n| usize::try_from(n).unwrap_or(usize::MAX) > limit)
    {
        return Err(format!(
            "the migration bundle s3://{bucket}/{key} is over the {limit} byte limit"
        ));
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| format!("cannot read the migration bundle s3://{bucket}/{key}: {e}"))?
        .into_bytes();
    Ok(bytes.to_vec())
}

/// A database secret in the shape RDS and `DatabaseSecret` write. Deliberately without
/// `Debug`: it holds a password.
#[derive(Deserialize)]
struct RdsSecret {
    username: String,
    password: String,
    host: String,
    #[serde(default)]
    port: Option<serde_json::Value>,
    #[serde(default)]
    dbname: Option<String>,
    #[serde(default)]
    engine: Option<String>,
}

/// The PostgreSQL URL for the secret named by `secret_id` (an ARN or name). The password
/// only ever lives in this URL, which the stores scrub from every message.
pub async fn database_url_from_secret(secret_id: &str, sslmode: &str) -> Result<String, String> {
    let client = aws_sdk_secretsmanager::Client::new(config().await);
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read the database secret {secret_id}: {}; check DEPOT_DB_SECRET_ARN and that the function may read it (secretsmanager:GetSecretValue)",
                sdk_message(&e)
            )
        })?;
    let text = out.secret_string().ok_or_else(|| {
        format!("the database secret {secret_id} has no SecretString; store the RDS JSON shape (username, password, host, port, dbname)")
    })?;
    database_url(text, sslmode).map_err(|m| format!("the database secret {secret_id} {m}"))
}

/// Builds the URL from the secret's JSON text. Errors never quote the secret.
pub fn database_url(secret_json: &str, sslmode: &str) -> Result<String, String> {
    let s: RdsSecret = serde_json::from_str(secret_json).map_err(|e| {
        // serde's message may quote a value: keep only the position.
        format!(
            "is not the RDS JSON shape (username, password, host, port, dbname) at line {} column {}",
            e.line(),
            e.column()
        )
    })?;
    if let Some(engine) = s.engine.as_deref() {
        if !matches!(engine, "postgres" | "aurora-postgresql" | "postgresql") {
            return Err(format!(
                "is for engine {engine:?}; the runner migrates PostgreSQL and Aurora PostgreSQL"
            ));
        }
    }
    let port = match &s.port {
        None => 5432,
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(serde_json::Value::String(p)) => p.parse().unwrap_or(0),
        Some(_) => 0,
    };
    if port == 0 || port > 65535 {
        return Err("has an invalid port; use a number from 1 to 65535".into());
    }
    if s.host.is_empty()
        || !s
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    {
        return Err("has an invalid host; use a DNS name or an IP address".into());
    }
    if !matches!(sslmode, "require" | "prefer" | "disable") {
        return Err(format!(
            "cannot be used with DEPOT_DB_SSLMODE={sslmode:?}; use require, prefer or disable"
        ));
    }
    let host = if s.host.contains(':') {
        format!("[{}]", s.host)
    } else {
        s.host.clone()
    };
    Ok(format!(
        "postgres://{}:{}@{host}:{port}/{}?sslmode={sslmode}",
        encode(&s.username),
        encode(&s.password),
        encode(s.dbname.as_deref().unwrap_or("postgres")),
    ))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The queue URL of an SQS queue ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`), asked from SQS
/// (so that a custom endpoint, e.g. a local one, gives its own URL).
pub async fn queue_url(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, _, "sqs", _, account, name] = parts.as_slice() else {
        return Err(format!("{arn:?} is not an SQS queue ARN"));
    };
    let client = aws_sdk_sqs::Client::new(config().await);
    let out = client
        .get_queue_url()
        .queue_name(*name)
        .queue_owner_aws_account_id(*account)
        .send()
        .await
        .map_err(|e| format!("cannot find the queue {arn}: {}", sdk_message(&e)))?;
    out.queue_url()
        .map(str::to_string)
        .ok_or_else(|| format!("SQS returned no URL for {arn}"))
}

/// Extends a message's visibility timeout.
pub async fn extend_visibility(
    queue_url: &str,
    receipt_handle: &str,
    seconds: i32,
) -> Result<(), String> {
    let client = aws_sdk_sqs::Client::new(config().await);
    client
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(seconds)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "cannot extend the message's visibility: {}",
                sdk_message(&e)
            )
        })
}

/// One line for an SDK error: its code and message when the service sent them.
fn sdk_message<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    let s = match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => err.to_string(),
            }
        }
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    };
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_secret_becomes_an_encoded_url() {
        let secret = r#"{"username":"app","password":"p@ss:w/rd%","host":"db.cluster-x.eu-west-1.rds.amazonaws.com","port":5432,"dbname":"dogs","engine":"postgres"}"#;
        assert_eq!(
            database_url(secret, "require").unwrap_or_default(),
            "postgres://app:p%40ss%3Aw%2Frd%25@db.cluster-x.eu-west-1.rds.amazonaws.com:5432/dogs?sslmode=require"
        );
        // The parsed URL gives the password back exactly.
        let url = database_url(secret, "require").unwrap_or_default();
        let config: postgres::Config = url.parse().expect("the URL parses");
        assert_eq!(config.get_password(), Some(&b"p@ss:w/rd%"[..]));
        let string_port = r#"{"username":"u","password":"x","host":"h","port":"6543"}"#;
        assert_eq!(
            database_url(string_port, "disable").unwrap_or_default(),
            "postgres://u:x@h:6543/postgres?sslmode=disable"
        );
    }

    #[test]
    fn bad_secrets_never_quote_the_password() {
        let cases = [
            r#"{"username":"u","password":"hunter2","host":"h","engine":"mysql"}"#,
            r#"{"username":"u","password":"hunter2","host":"h h"}"#,
            r#"{"username":"u","password":"hunter2","host":"h","port":70000}"#,
            r#"{"username":"u","password":hunter2}"#,
            r#"{"username":"u","password":"hunter2"}"#,
        ];
        for c in cases {
            let e = database_url(c, "require").expect_err(c);
            assert!(!e.contains("hunter2"), "{e}");
        }
        let e = database_url(
            r#"{"username":"u","password":"p","host":"h"}"#,
            "verify-all",
        )
        .expect_err("bad sslmode");
        assert!(e.contains("DEPOT_DB_SSLMODE"), "{e}");
    }
}
