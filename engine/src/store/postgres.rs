//! PostgreSQL / Aurora PostgreSQL state store: schema `depot_migrate` in the target
//! database. The executor lock is a session advisory lock (two-key form, our own
//! namespace) held on a connection of its own, which is also how liveness is probed;
//! a lease row records who holds it and carries the fencing token the migration
//! transaction checks before it commits. The DDL and the new `deployedVersion` commit
//! atomically.

use super::sql;
use super::{DestinationFilter, PendingRow};
use super::{
    LeaseHolder, LeaseInfo, MigrateError, Store, StoreError, StoredState, Transition,
    STATE_SCHEMA_VERSION,
};
use crate::clock::{now_rfc3339, now_unix};
use depot_migrate_core::lifecycle::FailureClass;
use depot_migrate_core::plan::Step;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The first key of our advisory locks: "DPMG".
const LOCK_NAMESPACE: i32 = 0x4450_4d47;
/// The first key of the outbox publisher lock: "DPMP".
const PUBLISHER_NAMESPACE: i32 = 0x4450_4d50;

/// A PostgreSQL database holding a dataset and its state.
pub struct PostgresStore {
    client: Client,
    lock_client: Option<Client>,
    url: String,
    token: Option<String>,
    /// The outbox has no `destination` column (layout 2, seen by a read that must not
    /// upgrade it).
    legacy_outbox: bool,
    /// The state tables are known to be at this layout (checked or created once per
    /// store: every later [`Store::ensure_state_schema`] is free).
    schema_ready: bool,
}

/// The second advisory-lock key of a dataset.
pub fn lock_key(dataset_id: &str) -> i32 {
    let d = Sha256::digest(dataset_id.as_bytes());
    i32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

const SCHEMA_V1: &str = "
CREATE SCHEMA IF NOT EXISTS depot_migrate;
CREATE TABLE IF NOT EXISTS depot_migrate.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS depot_migrate.state (
  dataset_id text PRIMARY KEY, environment_id text NOT NULL, alias text, engine text NOT NULL,
  schema_name text NOT NULL, revision bigint NOT NULL, synced text NOT NULL,
  status text NOT NULL DEFAULT 'RUNNING', desired_version text, attempted_version text,
  deployed_version text, last_failure jsonb, deployed_package text, deployed_plan_hash text);
CREATE TABLE IF NOT EXISTS depot_migrate.history (
  id bigserial PRIMARY KEY, dataset_id text NOT NULL, revision bigint NOT NULL, at text NOT NULL,
  event text NOT NULL, version text, run_id text NOT NULL, actor text NOT NULL, reason text,
  detail jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS depot_migrate.journal (
  id bigserial PRIMARY KEY, dataset_id text NOT NULL, run_id text NOT NULL, step_index int NOT NULL,
  step_key text NOT NULL, status text NOT NULL, at text NOT NULL);
CREATE TABLE IF NOT EXISTS depot_migrate.outbox (
  id bigserial PRIMARY KEY, dataset_id text NOT NULL, event_id text NOT NULL UNIQUE,
  created_at text NOT NULL, envelope jsonb NOT NULL, published_at text);
CREATE TABLE IF NOT EXISTS depot_migrate.lease (
  dataset_id text PRIMARY KEY, holder jsonb NOT NULL, token text NOT NULL, started text NOT NULL,
  heartbeat text NOT NULL);
ALTER TABLE depot_migrate.state ADD COLUMN IF NOT EXISTS submission text;
ALTER TABLE depot_migrate.state ADD COLUMN IF NOT EXISTS submitted_revision bigint;
ALTER TABLE depot_migrate.state ADD COLUMN IF NOT EXISTS run_id text;
ALTER TABLE depot_migrate.outbox ADD COLUMN IF NOT EXISTS destination text;
";

impl PostgresStore {
    /// Connects. Credentials come from the URL or the libpq environment; they never
    /// appear in errors.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let client = Self::new_client(url)?;
        Ok(PostgresStore {
            client,
            lock_client: None,
            url: url.to_string(),
            token: None,
            legacy_outbox: false,
            schema_ready: false,
        })
    }

    fn new_client(url: &str) -> Result<Client, StoreError> {
        // `verify-ca` and `verify-full` are ours to honour (the driver knows only
        // disable/prefer/require): it is given `require` and the TLS verifier does the rest.
        let (mode, explicit) = ssl_mode_of(url);
        let parsed_url = match mode {
            TlsMode::VerifyCa | TlsMode::VerifyFull => with_ssl_mode_require(url),
            _ => url.to_string(),
        };
        let mut config: postgres::Config = parsed_url.parse().map_err(|e: postgres::Error| {
            StoreError::Db(format!(
                "invalid PostgreSQL URL: {}",
                super::scrub(&e.to_string(), url)
            ))
        })?;
        if config.get_password().is_none() {
            if let Ok(p) = std::env::var("PGPASSWORD") {
                config.password(p);
            }
        }
        config.application_name("depot-migrate");
        config.connect_timeout(Duration::from_secs(10));
        let connect_err = |e: postgres::Error| {
            StoreError::Db(format!(
                "cannot connect to PostgreSQL: {}",
                super::scrub(&pg_message(&e), url)
            ))
        };
        let mut client = if config.get_ssl_mode() == postgres::config::SslMode::Disable {
            config.connect(NoTls).map_err(connect_err)?
        } else {
            // A password never travels in cleartext to another machine: unless the URL
            // says sslmode=disable, a connection that carries one to a non-loopback host
            // requires TLS (`prefer`, the default, would fall back to plain text).
            let cleartext_refused = config.get_password().is_some()
                && mode == TlsMode::Prefer
                && !config.get_hosts().iter().all(is_loopback);
            if cleartext_refused {
                config.ssl_mode(postgres::config::SslMode::Require);
            }
            // TLS with rustls, verified against the public roots plus the CA bundle in
            // PGSSLROOTCERT (for RDS/Aurora, the RDS CA bundle); verify-ca skips the host
            // name check. See docs/security.md for the modes.
            config
                .connect(tls_connector(mode == TlsMode::VerifyCa)?)
                .map_err(|e| {
                    let mut err = connect_err(e);
                    if cleartext_refused {
                        if let StoreError::Db(m) = &mut err {
                            m.push_str(if explicit {
                                "; the URL has a password and sslmode=prefer, but depot-migrate never sends a password in cleartext to a non-loopback host: enable TLS on the server, or pass sslmode=disable explicitly to accept the risk"
                            } else {
                                "; the URL has a password and no sslmode, and depot-migrate never sends a password in cleartext to a non-loopback host: enable TLS on the server, or pass sslmode=disable explicitly to accept the risk"
                            });
                        }
                    }
                    err
                })?
        };
        // The session settings the planner's SQL relies on, whatever the server,
        // database or role defaults are (see docs/security.md).
        client
            .batch_execute(SESSION_SETTINGS)
            .map_err(connect_err)?;
        Ok(client)
    }

    /// The shared state statements on this store's client.
    fn shared(&mut self) -> Pg<'_, Client> {
        Pg {
            client: &mut self.client,
            url: &self.url,
        }
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::Db(super::scrub(&pg_message(&e), &self.url))
    }
}

/// Settings every connection runs with: string literals mean what they say whatever the
/// server's or role's `standard_conforming_strings`.
pub const SESSION_SETTINGS: &str =
    "SET standard_conforming_strings = on; SET backslash_quote = off";

/// The `sslmode` of a connection string, as far as depot-migrate treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    Disable,
    /// `prefer`, `allow` or none given.
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The `sslmode` of a URL (`?sslmode=`) or a key/value string (`sslmode=`), and whether
/// it was given at all. The last one given counts.
fn ssl_mode_of(url: &str) -> (TlsMode, bool) {
    let mut mode = None;
    for part in url.split(['?', '&', ' ']) {
        if let Some(v) = part.trim().strip_prefix("sslmode=") {
            mode = Some(match v.trim_matches('\'') {
                "disable" => TlsMode::Disable,
                "require" => TlsMode::Require,
                "verify-ca" => TlsMode::VerifyCa,
                "verify-full" => TlsMode::VerifyFull,
                _ => TlsMode::Prefer,
            });
        }
    }
    (mode.unwrap_or(TlsMode::Prefer), mode.is_some())
}

/// The connection string with `sslmode=verify-…` replaced by `sslmode=require`.
fn with_ssl_mode_require(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}

/// A Unix socket, `localhost`, or an address in 127.0.0.0/8 or `::1`.
fn is_loopback(host: &postgres::config::Host) -> bool {
    match host {
        postgres::config::Host::Tcp(h) => {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[allow(unreachable_patterns)]
        _ => true,
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the host name is not
/// checked (verify-full and require check it too).
#[derive(Debug)]
struct ChainOnly(std::sync::Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::CertificateError as C;
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // The chain is checked before the name: a name error means the chain passed.
            Err(rustls::Error::InvalidCertificate(
                C::NotValidForName | C::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A rustls connector trusting the public web PKI roots and, when `PGSSLROOTCERT` names
/// a PEM file, the certificates in it.
fn tls_connector(chain_only: bool) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os("PGSSLROOTCERT").filter(|p| !p.is_empty()) {
        let shown = path.to_string_lossy().into_owned();
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(&path)
            .map_err(|e| StoreError::Db(format!("cannot read PGSSLROOTCERT {shown}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| {
                StoreError::Db(format!("bad certificate in PGSSLROOTCERT {shown}: {e}"))
            })?;
            roots.add(cert).map_err(|e| {
                StoreError::Db(format!(
                    "unusable certificate in PGSSLROOTCERT {shown}: {e}"
                ))
            })?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Db(format!("TLS setup failed: {e}")))?;
    let config = if chain_only {
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            provider,
        )
        .build()
        .map_err(|e| StoreError::Db(format!("TLS setup failed: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(ChainOnly(verifier)))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} (SQLSTATE {})", d.message(), d.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
}

/// Text PostgreSQL can hold: `text` and `jsonb` refuse NUL, which becomes U+FFFD, so a
/// failure record cannot fail to be written because of what a message or statement says.
fn storable_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// A JSON value with every string made [`storable_text`].
fn storable(v: Value) -> Value {
    match v {
        Value::String(s) if s.contains('\0') => Value::String(storable_text(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(storable).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (storable_text(&k), storable(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The shared state statements ([`super::sql`]) over a client or an open transaction.
struct Pg<'a, C: GenericClient> {
    client: &'a mut C,
    /// For scrubbing the password out of errors.
    url: &'a str,
}

impl<C: GenericClient> Pg<'_, C> {
    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::Db(super::scrub(&pg_message(&e), self.url))
    }
}

/// A shared statement's parameter as the driver binds it.
fn bind<'a>(p: &'a sql::Param<'a>) -> Box<dyn ToSql + Sync + 'a> {
    match p {
        sql::Param::Text(t) => Box::new(*t),
        sql::Param::Int(i) => Box::new(*i),
        sql::Param::Json(v) => Box::new(v.as_ref().map(postgres::types::Json)),
    }
}

impl<C: GenericClient> sql::Driver for Pg<'_, C> {
    fn tables(&self) -> &'static str {
        "depot_migrate."
    }

    fn execute(&mut self, template: &str, params: &[sql::Param<'_>]) -> Result<u64, StoreError> {
        let text = sql::render(template, self.tables(), '$');
        let bound: Vec<_> = params.iter().map(bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| &**b as _).collect();
        self.client
            .execute(text.as_str(), &refs)
            .map_err(|e| self.err(e))
    }

    fn query(
        &mut self,
        template: &str,
        params: &[sql::Param<'_>],
        kinds: &[sql::Kind],
    ) -> Result<Vec<Vec<sql::Cell>>, StoreError> {
        let text = sql::render(template, self.tables(), '$');
        let bound: Vec<_> = params.iter().map(bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| &**b as _).collect();
        let rows = self
            .client
            .query(text.as_str(), &refs)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                cells.push(cell(row, i, *kind).map_err(|e| self.err(e))?);
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn storable(&self, v: Value) -> Value {
        storable(v)
    }

    fn storable_text(&self, s: &str) -> String {
        storable_text(s)
    }
}

/// A column as the shared statements read it.
fn cell(row: &postgres::Row, i: usize, kind: sql::Kind) -> Result<sql::Cell, postgres::Error> {
    use postgres::types::Type;
    let cell = match kind {
        sql::Kind::Text => row.try_get::<_, Option<String>>(i)?.map(sql::Cell::Text),
        sql::Kind::Int => match *row.columns()[i].type_() {
            Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(i64::from),
            Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(i64::from),
            _ => row.try_get::<_, Option<i64>>(i)?,
        }
        .map(sql::Cell::Int),
        sql::Kind::Json => row
            .try_get::<_, Option<postgres::types::Json<Value>>>(i)?
            .map(|j| sql::Cell::Json(j.0)),
    };
    Ok(cell.unwrap_or(sql::Cell::Null))
}

impl Store for PostgresStore {
    fn ensure_state_schema(&mut self) -> Result<(), StoreError> {
        if self.schema_ready {
            return Ok(());
        }
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| StoreError::Db(pg_message(&e)))?;
        // Serialize concurrent first runs.
        tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_NAMESPACE])
            .map_err(|e| StoreError::Db(pg_message(&e)))?;
        tx.batch_execute(SCHEMA_V1)
            .map_err(|e| StoreError::Db(pg_message(&e)))?;
        let current: Option<String> = tx
            .query_opt(
                "SELECT value FROM depot_migrate.meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(|e| StoreError::Db(pg_message(&e)))?
            .map(|r| r.get(0));
        match current.and_then(|v| v.parse::<i64>().ok()) {
            None => {
                tx.execute("INSERT INTO depot_migrate.meta (key, value) VALUES ('schema_version', $1)", &[&STATE_SCHEMA_VERSION.to_string()])
                    .map_err(|e| StoreError::Db(pg_message(&e)))?;
            }
            Some(v) if v > STATE_SCHEMA_VERSION => {
                return Err(StoreError::Db(format!(
                    "the state tables are at layout version {v}, newer than this depot-migrate understands ({STATE_SCHEMA_VERSION}); upgrade depot-migrate"
                )))
            }
            Some(v) if v < STATE_SCHEMA_VERSION => {
                tx.execute("UPDATE depot_migrate.meta SET value = $1 WHERE key = 'schema_version'", &[&STATE_SCHEMA_VERSION.to_string()])
                    .map_err(|e| StoreError::Db(pg_message(&e)))?;
            }
            Some(_) => {}
        }
        tx.commit().map_err(|e| StoreError::Db(pg_message(&e)))?;
        self.legacy_outbox = false;
        self.schema_ready = true;
        Ok(())
    }

    fn has_state(&mut self) -> Result<bool, StoreError> {
        let row = self
            .client
            .query_one(
                "SELECT to_regclass('depot_migrate.state') IS NOT NULL, EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'depot_migrate' AND table_name = 'outbox' AND column_name = 'destination')",
                &[],
            )
            .map_err(|e| self.err(e))?;
        let present: bool = row.get(0);
        self.legacy_outbox = present && !row.get::<_, bool>(1);
        Ok(present)
    }

    fn lock(
        &mut self,
        dataset_id: &str,
        holder: &LeaseHolder,
        wait: Duration,
    ) -> Result<(), StoreError> {
        let mut lc = Self::new_client(&self.url)?;
        let key = lock_key(dataset_id);
        let start = Instant::now();
        loop {
            let got: bool = lc
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&LOCK_NAMESPACE, &key],
                )
                .map_err(|e| self.err(e))?
                .get(0);
            if got {
                break;
            }
            if start.elapsed() >= wait {
                let who: Option<(String, String)> = self
                    .client
                    .query_opt(
                        "SELECT holder::text, started FROM depot_migrate.lease WHERE dataset_id = $1",
                        &[&dataset_id],
                    )
                    .map_err(|e| self.err(e))?
                    .map(|r| (r.get(0), r.get(1)));
                return Err(StoreError::LockHeld {
                    dataset: dataset_id.to_string(),
                    holder: who
                        .map(|(w, t)| super::describe_holder(&w, Some(&t)))
                        .unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut holder_json = holder.to_json(now_unix());
        holder_json["backendPid"] = serde_json::json!(lc
            .query_one("SELECT pg_backend_pid()", &[])
            .map(|r| r.get::<_, i32>(0))
            .unwrap_or(0));
        lc.execute(
            "INSERT INTO depot_migrate.lease (dataset_id, holder, token, started, heartbeat) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (dataset_id) DO UPDATE SET holder = excluded.holder, token = excluded.token, started = excluded.started, heartbeat = excluded.heartbeat",
            &[&dataset_id, &postgres::types::Json(&holder_json), &holder.token, &now_rfc3339()],
        )
        .map_err(|e| self.err(e))?;
        self.token = Some(holder.token.clone());
        self.lock_client = Some(lc);
        Ok(())
    }

    fn unlock(&mut self, dataset_id: &str) -> Result<(), StoreError> {
        if let Some(mut lc) = self.lock_client.take() {
            let token = self.token.take();
            let _ = lc.execute(
                "DELETE FROM depot_migrate.lease WHERE dataset_id = $1 AND token = $2",
                &[&dataset_id, &token],
            );
            let _ = lc.execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&LOCK_NAMESPACE, &lock_key(dataset_id)],
            );
        }
        Ok(())
    }

    fn lock_held_elsewhere(&mut self, dataset_id: &str) -> Result<bool, StoreError> {
        if self.lock_client.is_some() {
            return Ok(false);
        }
        let held: bool = self
            .client
            .query_one(
                "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = ($1::bigint & 4294967295) AND objid::bigint = ($2::bigint & 4294967295) AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&(LOCK_NAMESPACE as i64), &(lock_key(dataset_id) as i64)],
            )
            .map_err(|e| self.err(e))?
            .get(0);
        Ok(held)
    }

    fn read_state(&mut self, dataset_id: &str) -> Result<Option<StoredState>, StoreError> {
        sql::read_state(&mut self.shared(), dataset_id)
    }

    fn transition(&mut self, t: &Transition) -> Result<(), StoreError> {
        let url = self.url.clone();
        let err = |e: postgres::Error| StoreError::Db(super::scrub(&pg_message(&e), &url));
        let mut tx = self.client.transaction().map_err(err)?;
        sql::write_transition(
            &mut Pg {
                client: &mut tx,
                url: &url,
            },
            t,
        )?;
        tx.commit().map_err(err)
    }

    fn migrate(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        steps: &[Step],
        lock_timeout: Duration,
        then: &Transition,
        progress: &mut dyn FnMut(&Step),
    ) -> Result<(), MigrateError> {
        let url = self.url.clone();
        let token = self.token.clone();
        let store_err = |e: postgres::Error| {
            MigrateError::Store(StoreError::Db(super::scrub(&pg_message(&e), &url)))
        };
        let mut tx = self.client.transaction().map_err(store_err)?;
        // Timestamps convert in UTC whatever the server's default, and DDL waits for locks
        // only so long.
        tx.batch_execute(&format!(
            "SET LOCAL TIME ZONE 'UTC'; SET LOCAL lock_timeout = '{}ms'; SET LOCAL standard_conforming_strings = on",
            lock_timeout.as_millis()
        ))
        .map_err(store_err)?;
        // The journal rows go in with one statement after the steps (same transaction, so
        // they commit or roll back with them): one round trip for the whole plan instead of
        // a prepare and an execute per step.
        let mut indexes: Vec<i32> = Vec::with_capacity(steps.len());
        let mut keys: Vec<&str> = Vec::with_capacity(steps.len());
        let mut ats: Vec<String> = Vec::with_capacity(steps.len());
        for step in steps {
            progress(step);
            for statement in &step.sql {
                // `execute_typed` with no parameters sends Parse, Bind, Execute and Sync
                // together: one statement per Parse (the extended protocol refuses a
                // second one) in one round trip, where `execute` prepares first (two).
                if let Err(e) = tx.execute_typed(statement, &[]) {
                    let sqlstate = e.code().map(|c| c.code().to_string());
                    let retryable = sqlstate.as_deref() == Some("55P03");
                    let class = if retryable {
                        FailureClass::LockTimeout
                    } else {
                        FailureClass::Step
                    };
                    // The server message names constraints and types, not row values
                    // (DETAIL, which can hold them, is left out).
                    let message = super::scrub(
                        &e.as_db_error()
                            .map_or_else(|| e.to_string(), |d| d.message().to_string()),
                        &url,
                    );
                    return Err(MigrateError::statement_failed(
                        step, statement, class, sqlstate, &message, retryable,
                    ));
                }
            }
            indexes.push(step.index as i32);
            keys.push(&step.key);
            ats.push(now_rfc3339());
        }
        if !indexes.is_empty() {
            tx.execute(
                "INSERT INTO depot_migrate.journal (dataset_id, run_id, step_index, step_key, status, at) \
                 SELECT $1, $2, j.i, j.k, 'done', j.a FROM unnest($3::int4[], $4::text[], $5::text[]) WITH ORDINALITY AS j(i, k, a, n) ORDER BY j.n",
                &[&dataset_id, &run_id, &indexes, &keys, &ats],
            )
            .map_err(store_err)?;
        }
        sql::fenced_transition(
            &mut Pg {
                client: &mut tx,
                url: &url,
            },
            dataset_id,
            token.as_deref(),
            then,
        )
        .map_err(MigrateError::Store)?;
        tx.commit().map_err(store_err)
    }

    fn pending_events(
        &mut self,
        dataset_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PendingRow>, StoreError> {
        let legacy = self.legacy_outbox;
        sql::pending_events(&mut self.shared(), dataset_id, limit, legacy)
    }

    fn publish_claimed(
        &mut self,
        dataset_id: Option<&str>,
        filter: &DestinationFilter,
        limit: usize,
        publish: &mut dyn FnMut(&[super::Outgoing]) -> usize,
    ) -> Result<Option<(usize, usize)>, StoreError> {
        let url = self.url.clone();
        let err = |e: postgres::Error| StoreError::Db(super::scrub(&pg_message(&e), &url));
        let mut tx = self.client.transaction().map_err(err)?;
        // One publisher at a time (our own advisory-lock namespace, held until commit).
        let claimed: bool = tx
            .query_one(
                "SELECT pg_try_advisory_xact_lock($1, 1)",
                &[&PUBLISHER_NAMESPACE],
            )
            .map_err(err)?
            .get(0);
        if !claimed {
            return Ok(None);
        }
        let rows = tx
            .query(
                "SELECT id, envelope, destination FROM depot_migrate.outbox WHERE published_at IS NULL AND ($1::text IS NULL OR dataset_id = $1)
                   AND (CASE WHEN destination IS NULL THEN $4 WHEN $5 THEN starts_with(destination, $3) ELSE destination = $3 END)
                 ORDER BY id LIMIT $2",
                &[&dataset_id, &(limit as i64), &filter.value, &filter.legacy, &filter.prefix],
            )
            .map_err(err)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let envelopes: Vec<(Option<String>, Value)> = rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, Option<String>>(2),
                    r.get::<_, postgres::types::Json<Value>>(1).0,
                )
            })
            .collect();
        if envelopes.is_empty() {
            return Ok(Some((0, 0)));
        }
        let n = publish(&envelopes).min(ids.len());
        tx.execute(
            "UPDATE depot_migrate.outbox SET published_at = $2 WHERE id = ANY($1)",
            &[&&ids[..n], &now_rfc3339()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Some((ids.len(), n)))
    }

    fn reconnect(&mut self) -> Result<(), StoreError> {
        self.client = Self::new_client(&self.url)?;
        Ok(())
    }

    fn run_step(
        &mut self,
        dataset_id: &str,
        run_id: &str,
        step: &Step,
        lock_timeout: Duration,
    ) -> Result<(), MigrateError> {
        let url = self.url.clone();
        let token = self.token.clone();
        let store_err = |e: postgres::Error| {
            MigrateError::Store(StoreError::Db(super::scrub(&pg_message(&e), &url)))
        };
        // Fencing before anything runs.
        let ours: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM depot_migrate.lease WHERE dataset_id = $1 AND token = $2",
                &[&dataset_id, &token],
            )
            .map_err(store_err)?
            .get(0);
        if ours != 1 {
            return Err(MigrateError::Store(StoreError::LockHeld {
                dataset: dataset_id.to_string(),
                holder: " (our lease was revoked or taken over)".into(),
            }));
        }
        let settings = format!(
            "SET TIME ZONE 'UTC'; SET lock_timeout = '{}ms'; SET standard_conforming_strings = on",
            lock_timeout.as_millis()
        );
        let journal = "INSERT INTO depot_migrate.journal (dataset_id, run_id, step_index, step_key, status, at) VALUES ($1, $2, $3, $4, 'done', $5)";
        let fail = |statement: &str, e: &postgres::Error, rolled_back: bool| {
            let sqlstate = e.code().map(|c| c.code().to_string());
            let retryable = sqlstate.as_deref() == Some("55P03");
            let class = if retryable {
                FailureClass::LockTimeout
            } else {
                FailureClass::Step
            };
            let message = super::scrub(
                &e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string()),
                &url,
            );
            let mut err = MigrateError::statement_failed(
                step, statement, class, sqlstate, &message, retryable,
            );
            if let MigrateError::Step(f) = &mut err {
                f.record.rolled_back = rolled_back;
            }
            err
        };
        if step.transactional {
            let mut tx = self.client.transaction().map_err(store_err)?;
            tx.batch_execute(&settings.replace("SET ", "SET LOCAL "))
                .map_err(store_err)?;
            for statement in &step.sql {
                if let Err(e) = tx.execute_typed(statement, &[]) {
                    return Err(fail(statement, &e, true));
                }
            }
            tx.execute(
                journal,
                &[
                    &dataset_id,
                    &run_id,
                    &(step.index as i32),
                    &step.key,
                    &now_rfc3339(),
                ],
            )
            .map_err(store_err)?;
            tx.commit().map_err(store_err)
        } else {
            // Autocommit, one statement at a time (e.g. CREATE INDEX CONCURRENTLY). A
            // failed statement may still leave something behind (a failed CREATE INDEX
            // CONCURRENTLY leaves an invalid index), so the step never counts as rolled
            // back.
            self.client.batch_execute(&settings).map_err(store_err)?;
            for statement in &step.sql {
                if let Err(e) = self.client.execute_typed(statement, &[]) {
                    let mut err = fail(statement, &e, false);
                    // A failed CREATE INDEX CONCURRENTLY leaves its index INVALID: say so
                    // in the failure record (status, history, the failed event).
                    if step.kind == "createIndex" {
                        let name = step.key.rsplit('.').next().unwrap_or_default();
                        let invalid = self
                            .client
                            .query(
                                "SELECT n.nspname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND NOT i.indisvalid",
                                &[&name],
                            )
                            .map(|rows| !rows.is_empty())
                            .unwrap_or(false);
                        if let (true, MigrateError::Step(f)) = (invalid, &mut err) {
                            f.record.message.push_str(&format!(
                                "; the concurrent build left index {name} INVALID (it slows writes and serves no reads): fix the cause, then `depot-migrate recover --resolve retry` drops it and builds it again"
                            ));
                        }
                    }
                    return Err(err);
                }
            }
            self.client
                .execute(
                    journal,
                    &[
                        &dataset_id,
                        &run_id,
                        &(step.index as i32),
                        &step.key,
                        &now_rfc3339(),
                    ],
                )
                .map_err(store_err)?;
            Ok(())
        }
    }

    fn completed_steps(
        &mut self,
        dataset_id: &str,
        run_id: &str,
    ) -> Result<Vec<usize>, StoreError> {
        sql::completed_steps(&mut self.shared(), dataset_id, run_id)
    }

    fn lease(&mut self, dataset_id: &str) -> Result<Option<LeaseInfo>, StoreError> {
        sql::lease(&mut self.shared(), dataset_id)
    }

    fn renew_lease(&mut self, dataset_id: &str) -> Result<(), StoreError> {
        let token = self.token.clone();
        let url = self.url.clone();
        let lost = || StoreError::LockHeld {
            dataset: dataset_id.to_string(),
            holder: " (our lease was revoked or taken over)".into(),
        };
        let Some(lc) = self.lock_client.as_mut() else {
            return Err(lost());
        };
        let n = lc
            .execute(
                "UPDATE depot_migrate.lease SET heartbeat = $3 WHERE dataset_id = $1 AND token = $2",
                &[&dataset_id, &token, &now_rfc3339()],
            )
            .map_err(|e| StoreError::Db(super::scrub(&pg_message(&e), &url)))?;
        if n == 1 {
            Ok(())
        } else {
            Err(lost())
        }
    }

    fn revoke_lease(&mut self, dataset_id: &str, token: &str) -> Result<bool, StoreError> {
        sql::revoke_lease(&mut self.shared(), dataset_id, token)
    }

    fn dataset_ids(&mut self) -> Result<Vec<String>, StoreError> {
        sql::dataset_ids(&mut self.shared())
    }

    fn catalog(&mut self, schema: &str) -> Result<BTreeSet<String>, StoreError> {
        let url = self.url.clone();
        describe(&mut self.client, schema)
            .map_err(|e| StoreError::Db(super::scrub(&pg_message(&e), &url)))
    }

    fn inspect(
        &mut self,
        schema: &str,
    ) -> Result<depot_migrate_core::inspect::LiveCatalog, StoreError> {
        let url = self.url.clone();
        super::inspect_pg::read(&mut self.client, schema)
            .map_err(|e| StoreError::Db(super::scrub(&pg_message(&e), &url)))
    }

    fn scratch_catalog(
        &mut self,
        build: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let url = self.url.clone();
        let err = |e: postgres::Error| StoreError::Db(super::scrub(&pg_message(&e), &url));
        let scratch = format!(
            "depot_migrate_scratch_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        // Transactional DDL: build, describe, roll back. Nothing stays behind.
        let mut tx = self.client.transaction().map_err(err)?;
        tx.batch_execute(&format!(
            "SET LOCAL TIME ZONE 'UTC'; CREATE SCHEMA IF NOT EXISTS \"{scratch}\""
        ))
        .map_err(err)?;
        for statement in build(&scratch) {
            tx.execute_typed(&statement, &[]).map_err(|e| {
                StoreError::Db(format!(
                    "building the expected catalog failed: {}",
                    super::scrub(&pg_message(&e), &url)
                ))
            })?;
        }
        let out = describe_tx(&mut tx, &scratch).map_err(err)?;
        tx.rollback().map_err(err)?;
        Ok(out)
    }

    fn history(&mut self, dataset_id: &str) -> Result<Vec<Value>, StoreError> {
        sql::history(&mut self.shared(), dataset_id)
    }
}

const DESCRIBE: &[&str] = &[
    "SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
    "SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull::text || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' comment=' || coalesce(col_description(c.oid, a.attnum), '') FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
    "SELECT 'constraint ' || c.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
    // The definition as the engine reports it (pg_get_indexdef); an index a failed or
    // killed concurrent build left INVALID is marked so (super::INVALID_MARK).
    "SELECT 'index ' || c.relname || ' ' || replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident($1) || '.', ' ON ') || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
];

fn describe(client: &mut Client, schema: &str) -> Result<BTreeSet<String>, postgres::Error> {
    let mut tx = client.transaction()?;
    let out = describe_tx(&mut tx, schema)?;
    tx.commit()?;
    Ok(out)
}

fn describe_tx(
    tx: &mut postgres::Transaction<'_>,
    schema: &str,
) -> Result<BTreeSet<String>, postgres::Error> {
    // With the schema on the search path, foreign keys and enum-typed columns name
    // their tables and types without the schema, so a scratch schema's catalog equals
    // the real one's.
    tx.batch_execute(&format!(
        "SET LOCAL search_path TO \"{}\"",
        schema.replace('"', "\"\"")
    ))?;
    let mut out = BTreeSet::new();
    for sql in DESCRIBE {
        for r in tx.query(*sql, &[&schema])? {
            out.insert(r.get::<_, String>(0));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! The non-transactional branch of `run_step` against the real PostgreSQL of
    //! scripts/with-services.sh (`DEPOT_TEST_PG_URL`). No plan has a non-transactional
    //! Postgres step today (the Snowflake dialect's steps are the ones that are not
    //! transactional), so this drives the store directly with a step marked
    //! `transactional: false` holding a statement that cannot run in a transaction.
    use super::*;
    use crate::store::HistoryEntry;
    use depot_migrate_core::lifecycle::DatasetState;

    fn step(index: usize, key: &str, sql: &str, transactional: bool) -> Step {
        Step {
            index,
            key: key.into(),
            kind: "createIndex".into(),
            table: "t".into(),
            summary: key.into(),
            sql: vec![sql.into()],
            destructive: false,
            destructive_changes: Vec::new(),
            may_fail: false,
            transactional,
            locks: None,
        }
    }

    fn fresh_database() -> (String, String) {
        let admin = std::env::var("DEPOT_TEST_PG_URL")
            .expect("DEPOT_TEST_PG_URL is not set: run the tests through scripts/with-services.sh");
        let name = format!("u_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut c = postgres::Client::connect(&admin, NoTls).expect("connect");
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
        let (head, _) = admin.rsplit_once('/').expect("URL with a database");
        (admin.clone(), format!("{head}/{name}"))
    }

    fn first_transition(dataset_id: &str) -> Transition {
        Transition {
            expected_revision: 0,
            state: DatasetState {
                dataset_id: dataset_id.into(),
                revision: 1,
                ..Default::default()
            },
            environment_id: "e".into(),
            engine: "postgres".into(),
            schema: "s".into(),
            deployed: None,
            history: HistoryEntry {
                at: now_rfc3339(),
                event: "deployed".into(),
                version: None,
                run_id: "run1".into(),
                actor: "test".into(),
                reason: None,
                detail: Value::Null,
            },
            outbox: None,
            outbox_destination: None,
            submission: None,
            scheduled: false,
            run_id: None,
        }
    }

    #[test]
    fn catalog_of_a_schema_equals_its_scratch_build_with_foreign_keys_and_enums() {
        let (_admin, url) = fresh_database();
        let mut store = PostgresStore::connect(&url).expect("connect");
        let ddl = |s: &str| {
            vec![
                format!("CREATE TYPE \"{s}\".mood AS ENUM ('a', 'b')"),
                format!("CREATE TABLE \"{s}\".parent (id bigint PRIMARY KEY, m \"{s}\".mood)"),
                format!("CREATE TABLE \"{s}\".child (id bigint PRIMARY KEY, p bigint CONSTRAINT child_p_fk REFERENCES \"{s}\".parent (id))"),
            ]
        };
        store
            .client
            .batch_execute(&format!("CREATE SCHEMA app; {}", ddl("app").join("; ")))
            .expect("build");
        let real = store.catalog("app").expect("catalog");
        let scratch = store.scratch_catalog(&ddl).expect("scratch");
        assert!(
            real.iter().any(|l| l.contains("REFERENCES parent(id)")),
            "{real:?}"
        );
        assert_eq!(real, scratch);
    }

    #[test]
    fn one_transaction_journals_every_step_in_order_or_none() {
        let (_admin, url) = fresh_database();
        let mut store = PostgresStore::connect(&url).expect("connect");
        store.ensure_state_schema().expect("state schema");
        store
            .client
            .batch_execute("CREATE SCHEMA s; CREATE TABLE s.t (id int, name text)")
            .expect("setup");
        store
            .lock("d", &crate::identity::lease_holder(), Duration::ZERO)
            .expect("lock");
        // Keys out of index order: the journal keeps the order the steps ran in.
        let steps = vec![
            step(
                0,
                "createIndex:t.a",
                "CREATE INDEX \"a\" ON \"s\".\"t\" (\"id\")",
                true,
            ),
            step(
                1,
                "createIndex:t.b",
                "CREATE INDEX \"b\" ON \"s\".\"t\" (\"name\")",
                true,
            ),
            step(
                2,
                "commentTable:t",
                "COMMENT ON TABLE \"s\".\"t\" IS 'x'",
                true,
            ),
        ];
        let mut announced = Vec::new();
        store
            .migrate(
                "d",
                "run1",
                &steps,
                Duration::from_secs(5),
                &first_transition("d"),
                &mut |st: &Step| announced.push(st.index),
            )
            .unwrap_or_else(|e| panic!("migrate: {e:?}"));
        assert_eq!(announced, vec![0, 1, 2]);
        let rows: Vec<(i32, String, String, String)> = store
            .client
            .query(
                "SELECT step_index, step_key, status, run_id FROM depot_migrate.journal WHERE dataset_id = 'd' ORDER BY id",
                &[],
            )
            .expect("journal")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let expected: Vec<(i32, String, String, String)> = steps
            .iter()
            .map(|st| {
                (
                    st.index as i32,
                    st.key.clone(),
                    "done".into(),
                    "run1".into(),
                )
            })
            .collect();
        assert_eq!(rows, expected);

        // A failing step rolls back the steps before it and their journal rows.
        let failing = vec![
            step(
                0,
                "createIndex:t.c",
                "CREATE INDEX \"c\" ON \"s\".\"t\" (\"id\")",
                true,
            ),
            step(
                1,
                "createIndex:t.a",
                "CREATE INDEX \"a\" ON \"s\".\"t\" (\"id\")",
                true,
            ),
        ];
        let mut then = first_transition("d");
        then.expected_revision = 1;
        then.state.revision = 2;
        assert!(matches!(
            store.migrate(
                "d",
                "run2",
                &failing,
                Duration::from_secs(5),
                &then,
                &mut |_| {}
            ),
            Err(MigrateError::Step(_))
        ));
        assert_eq!(
            store.completed_steps("d", "run2").expect("journal"),
            Vec::<usize>::new()
        );
        assert!(!store
            .catalog("s")
            .expect("catalog")
            .iter()
            .any(|l| l.starts_with("index c ")));
        store.unlock("d").expect("unlock");
    }

    #[test]
    fn failure_records_hold_any_text() {
        let v = storable(
            serde_json::json!({"message": "bad \u{0} byte", "sql": ["a\u{0}"], "k\u{0}": 1}),
        );
        assert!(!v.to_string().contains("\\u0000"), "{v}");
        assert_eq!(v["message"], "bad \u{FFFD} byte");
    }

    #[test]
    fn non_transactional_steps_run_outside_a_transaction_and_are_journaled() {
        let (_admin, url) = fresh_database();
        let mut store = PostgresStore::connect(&url).expect("connect");
        store.ensure_state_schema().expect("state schema");
        store
            .client
            .batch_execute("CREATE SCHEMA s; CREATE TABLE s.t (id int, name text); INSERT INTO s.t VALUES (1, 'a'), (2, 'a')")
            .expect("setup");
        let mut holder = crate::identity::lease_holder();
        holder.max_duration = Some(Duration::from_secs(60));
        store.lock("d", &holder, Duration::ZERO).expect("lock");
        let lease = store.lease("d").expect("lease").expect("a lease row");
        assert!(lease.deadline.is_some(), "the deadline is recorded");

        // In a transaction this statement fails ("cannot run inside a transaction
        // block"): the non-transactional branch runs it on its own.
        let concurrently = step(
            0,
            "createIndex:t.t_id_idx",
            "CREATE INDEX CONCURRENTLY \"t_id_idx\" ON \"s\".\"t\" (\"id\")",
            false,
        );
        store
            .run_step("d", "run1", &concurrently, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("run_step: {e:?}"));
        assert_eq!(
            store.completed_steps("d", "run1").expect("journal"),
            vec![0]
        );
        let catalog = store.catalog("s").expect("catalog");
        assert!(
            catalog.iter().any(|l| l.starts_with("index t_id_idx ")),
            "{catalog:?}"
        );
        let marked_transactional = step(
            1,
            "createIndex:t.t_name_idx",
            "CREATE INDEX CONCURRENTLY \"t_name_idx\" ON \"s\".\"t\" (\"name\")",
            true,
        );
        assert!(
            store
                .run_step("d", "run1", &marked_transactional, Duration::from_secs(5))
                .is_err(),
            "the same kind of statement fails inside the step's transaction"
        );

        // A failing non-transactional step is not journaled.
        let failing = step(
            2,
            "createIndex:t.t_uq",
            "CREATE UNIQUE INDEX CONCURRENTLY \"t_uq\" ON \"s\".\"t\" (\"name\")",
            false,
        );
        match store.run_step("d", "run1", &failing, Duration::from_secs(5)) {
            Err(MigrateError::Step(f)) => {
                assert_eq!(f.record.sqlstate.as_deref(), Some("23505"));
                assert!(!f.record.rolled_back, "it left an invalid index behind");
                assert_eq!(f.record.step_key.as_deref(), Some("createIndex:t.t_uq"));
            }
            other => panic!("expected a step failure, got {other:?}"),
        }
        assert_eq!(
            store.completed_steps("d", "run1").expect("journal"),
            vec![0]
        );

        // Fencing: once the lease is revoked, nothing runs.
        assert!(store.revoke_lease("d", &lease.token).expect("revoke"));
        assert!(
            store.renew_lease("d").is_err(),
            "the lease is no longer ours"
        );
        let next = step(
            3,
            "createIndex:t.t_x",
            "CREATE INDEX \"t_x\" ON \"s\".\"t\" (\"id\", \"name\")",
            false,
        );
        assert!(matches!(
            store.run_step("d", "run1", &next, Duration::from_secs(5)),
            Err(MigrateError::Store(StoreError::LockHeld { .. }))
        ));
        assert!(
            !store
                .catalog("s")
                .expect("catalog")
                .iter()
                .any(|l| l.starts_with("index t_x ")),
            "a fenced step does not run"
        );
        store.unlock("d").expect("unlock");
    }
}
