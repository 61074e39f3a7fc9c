//! The SQL API v2 client: one statement per request, a `requestId` chosen by the caller
//! (deterministic per run and step, so a resubmission with `retry=true` is never executed
//! twice), 202 answers polled through `GET /api/v2/statements/{handle}`, cancel on
//! interrupt. Blocking on a current-thread tokio runtime of its own.

use super::{Auth, SnowflakeConfig};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use serde_json::{json, Value};
use std::time::Duration;

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// A bind value (`?` placeholders): values never go into SQL text.
#[derive(Debug, Clone)]
pub enum Bind {
    /// TEXT (or NULL).
    Text(Option<String>),
    /// FIXED (an integer).
    Fixed(i64),
    /// A NULL of the given Snowflake bind type (`FIXED`), so that it compares and
    /// coalesces as that type.
    Null(&'static str),
}

impl Bind {
    /// This value, or a NULL of its type unless `present`.
    pub fn nullable(self, present: bool) -> Bind {
        match (present, &self) {
            (true, _) => self,
            (false, Bind::Fixed(_) | Bind::Null("FIXED")) => Bind::Null("FIXED"),
            (false, _) => Bind::Text(None),
        }
    }
}

impl From<&str> for Bind {
    fn from(s: &str) -> Self {
        Bind::Text(Some(s.to_string()))
    }
}
impl From<String> for Bind {
    fn from(s: String) -> Self {
        Bind::Text(Some(s))
    }
}
impl From<Option<String>> for Bind {
    fn from(s: Option<String>) -> Self {
        Bind::Text(s)
    }
}
impl From<&Option<String>> for Bind {
    fn from(s: &Option<String>) -> Self {
        Bind::Text(s.clone())
    }
}
impl From<i64> for Bind {
    fn from(n: i64) -> Self {
        Bind::Fixed(n)
    }
}

/// A finished statement.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; every value is text or NULL, as the API returns them.
    pub rows: Vec<Vec<Option<String>>>,
    /// `stats` of a DML statement.
    pub stats: Option<Value>,
}

impl Outcome {
    /// Rows inserted + updated + deleted by a DML statement.
    pub fn affected(&self) -> i64 {
        if let Some(s) = &self.stats {
            let n = |k: &str| s.get(k).and_then(Value::as_i64).unwrap_or(0);
            return n("numRowsInserted") + n("numRowsUpdated") + n("numRowsDeleted");
        }
        self.rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The value of column `name` (case-insensitive) in row `row`.
    pub fn get(&self, row: usize, name: &str) -> Option<&str> {
        let i = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))?;
        self.rows.get(row)?.get(i)?.as_deref()
    }
}

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The credentials were refused (HTTP 401/403).
    Auth,
    /// The statement failed (HTTP 422 and the like): it had no effect.
    Statement,
    /// The server could not be reached or answered garbage: the statement may or may
    /// not have run (resubmit with the same requestId and retry=true to find out).
    Transport,
    /// Cancelled on interrupt.
    Cancelled,
}

/// A failed request, with Snowflake's `code`, `sqlState` and `message`. Never carries a
/// credential.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind.
    pub kind: ErrorKind,
    /// Snowflake's error code (`002003`).
    pub code: Option<String>,
    /// SQLSTATE.
    pub sql_state: Option<String>,
    /// The message.
    pub message: String,
    /// The statement handle, when known.
    pub handle: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self
            .code
            .as_deref()
            .map(|c| format!(" (code {c})"))
            .unwrap_or_default();
        let handle = self
            .handle
            .as_deref()
            .map(|h| format!(" [statement {h}]"))
            .unwrap_or_default();
        write!(f, "{}{code}{handle}", super::scrub(&self.message))
    }
}

impl ApiError {
    fn transport(message: String) -> ApiError {
        ApiError {
            kind: ErrorKind::Transport,
            code: None,
            sql_state: None,
            message: super::scrub(&message),
            handle: None,
        }
    }
}

/// A submitted statement: finished, or still running (poll its handle).
#[derive(Debug)]
pub enum Submitted {
    /// Finished.
    Done(Outcome),
    /// Still running.
    Running(String),
}

/// A client for one account and database.
pub struct SqlApi {
    rt: tokio::runtime::Runtime,
    http: Client<Https, Full<Bytes>>,
    cfg: SnowflakeConfig,
    token: Option<(String, u64)>,
    /// Statement `timeout` in seconds sent with each request (0: the account's default).
    pub statement_timeout_secs: u64,
}

fn unix_now() -> u64 {
    u64::try_from(crate::clock::now_unix()).unwrap_or(0)
}

/// A UUID derived from the parts: the same run, attempt, step and statement always give
/// the same requestId.
pub fn request_id(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_sha1_bytes(b).into_uuid().to_string()
}

impl SqlApi {
    /// A client (no request is made yet).
    pub fn new(cfg: SnowflakeConfig) -> Result<SqlApi, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(15)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        Ok(SqlApi {
            rt,
            http,
            cfg,
            token: None,
            statement_timeout_secs: 0,
        })
    }

    fn bearer(&mut self) -> Result<(String, &'static str), ApiError> {
        match &self.cfg.auth {
            Auth::OAuth(t) => Ok((t.clone(), "OAUTH")),
            Auth::KeyPair(k) => {
                let now = unix_now();
                if let Some((t, exp)) = &self.token {
                    if *exp > now + 60 {
                        return Ok((t.clone(), "KEYPAIR_JWT"));
                    }
                }
                let lifetime = 3600;
                let t = k.token(now, lifetime).map_err(|e| ApiError {
                    kind: ErrorKind::Auth,
                    code: None,
                    sql_state: None,
                    message: e,
                    handle: None,
                })?;
                self.token = Some((t.clone(), now + lifetime));
                Ok((t, "KEYPAIR_JWT"))
            }
        }
    }

    /// One HTTP request; the answer's status and JSON body.
    fn request(
        &mut self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ApiError> {
        let (token, kind) = self.bearer()?;
        let uri = format!("{}{}", self.cfg.endpoint, path_and_query);
        let data = body.map(|b| b.to_string()).unwrap_or_default();
        let req = hyper::Request::builder()
            .method(method)
            .uri(&uri)
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Snowflake-Authorization-Token-Type", kind)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header(
                "User-Agent",
                concat!("depot-migrate/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(data)))
            .map_err(|e| ApiError::transport(format!("bad request to {uri}: {e}")))?;
        let http = self.http.clone();
        let endpoint = self.cfg.endpoint.clone();
        self.rt.block_on(async move {
            let fut = async {
                let resp = http.request(req).await.map_err(|e| {
                    let mut s = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(inner) = src {
                        s.push_str(": ");
                        s.push_str(&inner.to_string());
                        src = inner.source();
                    }
                    ApiError::transport(format!("cannot reach Snowflake at {endpoint}: {s}"))
                })?;
                let status = resp.status().as_u16();
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| {
                        ApiError::transport(format!("reading Snowflake's answer failed: {e}"))
                    })?
                    .to_bytes();
                let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(
                    |_| json!({"message": String::from_utf8_lossy(&bytes[..bytes.len().min(300)])}),
                );
                Ok((status, v))
            };
            match tokio::time::timeout(Duration::from_secs(60), fut).await {
                Ok(r) => r,
                Err(_) => Err(ApiError::transport(format!(
                    "Snowflake at {endpoint} did not answer within 60 s"
                ))),
            }
        })
    }

    fn error_from(status: u16, v: &Value) -> ApiError {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let kind = match status {
            401 | 403 => ErrorKind::Auth,
            _ if s("sqlState").as_deref() == Some("57014") => ErrorKind::Cancelled,
            422 | 400 | 404 | 408 => ErrorKind::Statement,
            _ => ErrorKind::Transport,
        };
        let mut message = s("message").unwrap_or_else(|| format!("HTTP {status}"));
        if kind == ErrorKind::Auth {
            message = format!(
                "Snowflake refused the credentials (HTTP {status}): {message}; check DEPOT_SNOWFLAKE_USER and the key (its public key must be set on the user: ALTER USER … SET RSA_PUBLIC_KEY=…) or DEPOT_SNOWFLAKE_TOKEN"
            );
        }
        ApiError {
            kind,
            code: s("code"),
            sql_state: s("sqlState"),
            message: super::scrub(&message),
            handle: s("statementHandle"),
        }
    }

    fn outcome(&mut self, v: &Value) -> Result<Outcome, ApiError> {
        let handle = v["statementHandle"].as_str().unwrap_or_default();
        let columns = v["resultSetMetaData"]["rowType"]
            .as_array()
            .map(|cols| {
                cols.iter()
                    .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let parse_rows = |data: &Value| -> Vec<Vec<Option<String>>> {
            data.as_array()
                .map(|rows| {
                    rows.iter()
                        .map(|r| {
                            r.as_array()
                                .map(|cells| {
                                    cells
                                        .iter()
                                        .map(|c| c.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut rows = parse_rows(&v["data"]);
        let partitions = v["resultSetMetaData"]["partitionInfo"]
            .as_array()
            .map_or(1, Vec::len);
        for p in 1..partitions {
            let (status, pv) = self.request(
                "GET",
                &format!("/api/v2/statements/{handle}?partition={p}"),
                None,
            )?;
            if status != 200 {
                return Err(Self::error_from(status, &pv));
            }
            rows.extend(parse_rows(&pv["data"]));
        }
        Ok(Outcome {
            columns,
            rows,
            stats: v.get("stats").cloned(),
        })
    }

    fn answer(&mut self, status: u16, v: Value) -> Result<Submitted, ApiError> {
        match status {
            200 => Ok(Submitted::Done(self.outcome(&v)?)),
            202 => Ok(Submitted::Running(
                v["statementHandle"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )),
            _ => Err(Self::error_from(status, &v)),
        }
    }

    /// Submits one statement under `request_id`. Transport failures and throttling are
    /// retried with the same requestId and `retry=true`, so the statement runs at most
    /// once; `retry` marks the very first request as a resubmission too (resuming after
    /// a crash).
    pub fn submit(
        &mut self,
        sql: &str,
        binds: &[Bind],
        request_id: &str,
        retry: bool,
    ) -> Result<Submitted, ApiError> {
        let mut body = json!({
            "statement": sql,
            "database": self.cfg.database,
            "parameters": {"MULTI_STATEMENT_COUNT": "1", "TIMEZONE": "UTC"},
        });
        if self.statement_timeout_secs > 0 {
            body["timeout"] = json!(self.statement_timeout_secs);
        }
        if let Some(w) = &self.cfg.warehouse {
            body["warehouse"] = json!(w);
        }
        if let Some(r) = &self.cfg.role {
            body["role"] = json!(r);
        }
        if !binds.is_empty() {
            let mut b = serde_json::Map::new();
            for (i, bind) in binds.iter().enumerate() {
                let (t, v) = match bind {
                    Bind::Text(s) => ("TEXT", json!(s)),
                    Bind::Fixed(n) => ("FIXED", json!(n.to_string())),
                    Bind::Null(t) => (*t, Value::Null),
                };
                b.insert((i + 1).to_string(), json!({"type": t, "value": v}));
            }
            body["bindings"] = Value::Object(b);
        }
        let mut attempt = 0u32;
        let mut resubmit = retry;
        loop {
            let q = format!(
                "/api/v2/statements?requestId={request_id}{}",
                if resubmit { "&retry=true" } else { "" }
            );
            let result = self.request("POST", &q, Some(&body));
            let retryable = match &result {
                Err(e) => e.kind == ErrorKind::Transport,
                Ok((s, _)) => matches!(s, 429 | 502 | 503 | 504),
            };
            if retryable && attempt < 4 {
                attempt += 1;
                resubmit = true;
                std::thread::sleep(Duration::from_millis(250 << attempt));
                continue;
            }
            let (status, v) = result?;
            return self.answer(status, v);
        }
    }

    /// Asks once how a running statement is doing.
    pub fn poll(&mut self, handle: &str) -> Result<Submitted, ApiError> {
        let (status, v) = self.request("GET", &format!("/api/v2/statements/{handle}"), None)?;
        self.answer(status, v)
    }

    /// Cancels a running statement.
    pub fn cancel(&mut self, handle: &str) -> Result<(), ApiError> {
        let (status, v) =
            self.request("POST", &format!("/api/v2/statements/{handle}/cancel"), None)?;
        if status == 200 {
            Ok(())
        } else {
            Err(Self::error_from(status, &v))
        }
    }

    /// Waits up to `d`; true when the process got an interrupt (Ctrl-C) meanwhile.
    pub fn wait_interruptible(&mut self, d: Duration) -> bool {
        self.rt.block_on(async {
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                _ = tokio::time::sleep(d) => false,
            }
        })
    }

    /// Runs a statement to its end (polling a 202), cancelling it on interrupt;
    /// `between_polls` runs while it waits (lease renewal).
    pub fn run_with(
        &mut self,
        sql: &str,
        binds: &[Bind],
        request_id: &str,
        retry: bool,
        between_polls: &mut dyn FnMut(&mut SqlApi) -> Result<(), ApiError>,
    ) -> Result<Outcome, ApiError> {
        let mut state = self.submit(sql, binds, request_id, retry)?;
        let mut delay = Duration::from_millis(100);
        loop {
            match state {
                Submitted::Done(o) => return Ok(o),
                Submitted::Running(handle) => {
                    if self.wait_interruptible(delay) {
                        let _ = self.cancel(&handle);
                        return Err(ApiError {
                            kind: ErrorKind::Cancelled,
                            code: None,
                            sql_state: Some("57014".into()),
                            message: "interrupted; the running statement was cancelled".into(),
                            handle: Some(handle),
                        });
                    }
                    delay = (delay * 2).min(Duration::from_secs(2));
                    between_polls(self)?;
                    state = self.poll(&handle)?;
                }
            }
        }
    }

    /// Runs a statement under a fresh requestId.
    pub fn run(&mut self, sql: &str, binds: &[Bind]) -> Result<Outcome, ApiError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.run_with(sql, binds, &id, false, &mut |_| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_deterministic_uuids() {
        let a = request_id(&["run", "1", "2", "0"]);
        assert_eq!(a, request_id(&["run", "1", "2", "0"]));
        assert_ne!(a, request_id(&["run", "1", "2", "1"]));
        assert_ne!(request_id(&["ab", "c"]), request_id(&["a", "bc"]));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
