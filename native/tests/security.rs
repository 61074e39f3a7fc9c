//! Security tests of the binary against the real parts (docs/security.md): the
//! PostgreSQL of `scripts/with-services.sh` with `standard_conforming_strings = off` for
//! a database and for a role, a server that declines TLS reached over a non-loopback
//! address, NUL and engine-reserved names, connection strings that must never print their
//! password, in-memory SQLite, and a `jsonl:` sink whose writes fail part way
//! (`RLIMIT_FSIZE`).

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use support::*;

const PASSWORD: &str = "Hunter2-secret";

/// A comment that, with `standard_conforming_strings = off` and naive quoting, ends the
/// string and runs a statement of its own.
fn injection(role: &str) -> String {
    format!("c\\'; CREATE ROLE {role} LOGIN SUPERUSER PASSWORD $$x$$; --")
}

fn tricky_package(role: &str) -> Value {
    json!({
        "namespace": "dogs",
        "tables": [{
            "name": "t",
            "comment": injection(role),
            "columns": [
                {"name": "id", "type": "bigint", "nullable": false},
                {"name": "path", "type": "string", "default": "C:\\new\\table", "comment": "back\\slash 'q'"},
                {"name": "bin", "type": "binary", "default": "4142"},
                {"name": "doc", "type": "json", "default": "{\"a\":\"x\\ny\"}"}
            ],
            "primaryKey": ["id"]
        }]
    })
}

fn role_exists(c: &mut postgres::Client, role: &str) -> bool {
    c.query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&role])
        .expect("pg_roles")
        .get::<_, i64>(0)
        == 1
}

/// Inserts a row of defaults and checks every literal arrived exactly as written.
fn check_stored(c: &mut postgres::Client, schema: &str, role: &str) {
    c.batch_execute(&format!("INSERT INTO \"{schema}\".t (id) VALUES (1)"))
        .expect("insert defaults");
    let r = c
        .query_one(
            &format!(
                "SELECT path, encode(bin, 'hex'), doc::text, obj_description('\"{schema}\".t'::regclass, 'pg_class'), col_description('\"{schema}\".t'::regclass, 2) FROM \"{schema}\".t"
            ),
            &[],
        )
        .expect("select");
    assert_eq!(r.get::<_, String>(0), "C:\\new\\table");
    assert_eq!(r.get::<_, String>(1), "4142");
    assert_eq!(r.get::<_, String>(2), "{\"a\": \"x\\ny\"}");
    assert_eq!(r.get::<_, String>(3), injection(role));
    assert_eq!(r.get::<_, String>(4), "back\\slash 'q'");
}

#[test]
fn literals_are_safe_with_standard_conforming_strings_off() {
    let ctx = Ctx::new(Engine::Postgres, "scs-off");
    let db = ctx.url.rsplit('/').next().expect("db").to_string();
    let id = &ctx.dataset_id[3..];
    let evil = format!("evil_{id}");
    let login = format!("r_{id}");
    let mut admin = pg_connect(&pg_admin_url());
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{db}\" SET standard_conforming_strings = off; CREATE ROLE \"{login}\" LOGIN; ALTER ROLE \"{login}\" SET standard_conforming_strings = off; ALTER DATABASE \"{db}\" OWNER TO \"{login}\""
        ))
        .expect("setup");
    // The settings really are off for a new session of that role in that database.
    let role_url =
        with_database(&pg_admin_url(), &db).replacen("postgres@", &format!("{login}@"), 1);
    assert!(role_url.contains(&login), "{role_url}");
    let mut as_role = pg_connect(&role_url);
    let scs: String = as_role
        .query_one("SHOW standard_conforming_strings", &[])
        .expect("show")
        .get(0);
    assert_eq!(scs, "off");

    let pkg = ctx.write_json("p.json", &tricky_package(&evil));
    let ds = ctx.dataset("d.json", json!({}));
    // The executor, connected as the role (database and role both say off).
    let r = ctx.cli(&[
        "apply",
        "--package",
        &pkg,
        "--dataset",
        &ds,
        "--db",
        &role_url,
        "--events",
        "none",
    ]);
    r.ok();
    assert!(!role_exists(&mut admin, &evil), "the comment ran as SQL");
    check_stored(&mut as_role, "dogs", &evil);

    // The SQL printed for people, run as a batch (as psql would) on a session where the
    // setting is off, means the same.
    let ds2 = ctx.dataset(
        "d2.json",
        json!({"schema": "byhand", "datasetId": format!("{}-2", ctx.dataset_id)}),
    );
    let plan = ctx.cli(&[
        "plan",
        "--package",
        &pkg,
        "--dataset",
        &ds2,
        "--format",
        "sql",
    ]);
    plan.ok();
    assert!(plan.stdout.contains("E'"), "{}", plan.stdout);
    as_role
        .batch_execute(&format!("CREATE SCHEMA byhand; {}", plan.stdout))
        .expect("the printed SQL runs");
    assert!(
        !role_exists(&mut admin, &evil),
        "the printed SQL ran the comment"
    );
    check_stored(&mut as_role, "byhand", &evil);
    drop(as_role);
    admin
        .batch_execute(&format!("ALTER DATABASE \"{db}\" OWNER TO postgres"))
        .expect("owner back");
}

#[test]
fn nul_is_refused_at_validation_on_every_engine() {
    let ctx = Ctx::new(Engine::Sqlite, "nul");
    let pkg = ctx.write_json(
        "p.json",
        &json!({"namespace": "n", "tables": [{"name": "t", "comment": "a\u{0}b",
            "columns": [{"name": "c", "type": "string", "default": "x\u{0}", "comment": "\u{0}"}]}]}),
    );
    for engine in ["postgres", "aurora-postgresql", "snowflake", "sqlite"] {
        let ds = ctx.dataset(&format!("{engine}.json"), json!({"engine": engine}));
        for cmd in ["validate", "plan"] {
            let r = ctx.cli(&[cmd, "--package", &pkg, "--dataset", &ds]);
            r.expect_code(2);
            for path in [
                "$.tables[0].comment",
                "$.tables[0].columns[0].default",
                "$.tables[0].columns[0].comment",
            ] {
                assert!(
                    r.stderr.contains(&format!("{path}: DM2017")),
                    "{engine} {cmd} {path}: {}",
                    r.stderr
                );
            }
        }
    }
}

#[test]
fn nul_never_reaches_postgres() {
    // The case that used to fail at apply time and then fail to record the failure.
    let ctx = Ctx::new(Engine::Postgres, "nul-pg");
    let pkg = ctx.write_json(
        "p.json",
        &json!({"namespace": "n", "tables": [{"name": "t", "columns": [{"name": "c", "type": "string", "default": "x\u{0}"}]}]}),
    );
    let ds = ctx.dataset("d.json", json!({}));
    let r = ctx.apply(&pkg, &ds, &["--events", "none"]);
    r.expect_code(2);
    assert!(r.stderr.contains("DM2017"), "{}", r.stderr);
    let status = ctx.cli(&["status", "--dataset", &ds, "--db", &ctx.url]);
    // Nothing was changed: no state, no schema.
    assert!(!ctx.tables().contains("t"), "{}", status.stdout);
}

#[test]
fn names_the_engine_refuses_are_refused_at_validation() {
    let ctx = Ctx::new(Engine::Sqlite, "reserved");
    let cases = [
        (
            "postgres",
            json!({"name": "t", "columns": [{"name": "xmin", "type": "int"}]}),
            "$.tables[0].columns[0].name",
        ),
        (
            "aurora-postgresql",
            json!({"name": "t", "columns": [{"name": "ctid", "type": "int"}]}),
            "$.tables[0].columns[0].name",
        ),
        (
            "sqlite",
            json!({"name": "sqlite_x", "columns": [{"name": "c", "type": "int"}]}),
            "$.tables[0].name",
        ),
        (
            "sqlite",
            json!({"name": "t", "columns": [{"name": "c", "type": "int"}], "indexes": [{"name": "SQLite_i", "columns": ["c"]}]}),
            "$.tables[0].indexes[0].name",
        ),
        (
            "snowflake",
            json!({"name": "t", "columns": [{"name": "select", "type": "int"}]}),
            "$.tables[0].columns[0].name",
        ),
        (
            "snowflake",
            json!({"name": "ORDER", "columns": [{"name": "c", "type": "int"}]}),
            "$.tables[0].name",
        ),
    ];
    for (i, (engine, table, path)) in cases.iter().enumerate() {
        let pkg = ctx.write_json(
            &format!("p{i}.json"),
            &json!({"namespace": "n", "tables": [table]}),
        );
        let ds = ctx.dataset(&format!("d{i}.json"), json!({"engine": engine}));
        let r = ctx.cli(&["validate", "--package", &pkg, "--dataset", &ds]);
        r.expect_code(2);
        assert!(
            r.stderr.contains(&format!("{path}: DM2018")),
            "{engine}: {}",
            r.stderr
        );
        assert!(r.stderr.contains("rename"), "{engine}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    // The same names are fine on the other engines.
    let pkg = ctx.write_json("ok.json", &json!({"namespace": "n", "tables": [{"name": "sqlite_x", "columns": [{"name": "xmin", "type": "int"}]}]}));
    let ds = ctx.dataset("ok-ds.json", json!({"engine": "snowflake"}));
    ctx.cli(&["validate", "--package", &pkg, "--dataset", &ds])
        .ok();
}

#[test]
fn in_memory_sqlite_is_refused() {
    let ctx = Ctx::new(Engine::Sqlite, "memory");
    let ds = ctx.dataset("d.json", json!({}));
    let pkg = example("dogs.v1.package.json");
    for db in [
        "sqlite:file:x?mode=memory",
        "sqlite::memory:",
        "sqlite:file::memory:?cache=shared",
        "sqlite:FILE:y?cache=shared&mode=memory",
    ] {
        let r = ctx.cli(&[
            "apply",
            "--package",
            &pkg,
            "--dataset",
            &ds,
            "--db",
            db,
            "--events",
            "none",
        ]);
        r.expect_code(2);
        assert!(r.stderr.contains("in-memory"), "{db}: {}", r.stderr);
    }
}

#[test]
fn connection_strings_never_print_their_password() {
    let ctx = Ctx::new(Engine::Sqlite, "secrets");
    let ds_pg = ctx.dataset("pg.json", json!({"engine": "postgres"}));
    let pkg = example("dogs.v1.package.json");
    let urls = [
        format!("host=db.example user=app password={PASSWORD} dbname=x"),
        format!("postgres:/app:{PASSWORD}@db.example/db"),
        format!("postgresq://app:{PASSWORD}@db.example/db"),
        format!("postgres:app:{PASSWORD}@db.example/db"),
    ];
    for url in &urls {
        let runs = [
            ctx.cli(&["apply", "--package", &pkg, "--dataset", &ds_pg, "--db", url]),
            ctx.cli(&["status", "--dataset", &ds_pg, "--db", url]),
            ctx.cli(&["plan", "--package", &pkg, "--dataset", &ds_pg, "--db", url]),
            ctx.cli(&["events", "flush", "--db", url]),
            ctx.cli_env(
                &["status", "--dataset", &ds_pg],
                &[("DEPOT_DATABASE_URL", url)],
            ),
            ctx.cli_env(
                &["apply", "--package", &pkg, "--dataset", &ds_pg],
                &[("DEPOT_DATABASE_URL", url)],
            ),
            ctx.cli_env(&["worker", "--once"], &[("DEPOT_DATABASE_URL", url)]),
        ];
        for r in &runs {
            assert_ne!(r.code, 0, "{url}: {:?}", r.args);
            assert!(
                !r.all_output().contains(PASSWORD),
                "{url}: {:?} printed the password: {}",
                r.args,
                r.all_output()
            );
        }
        assert!(
            runs[0].stderr.contains("unsupported database URL scheme"),
            "{}",
            runs[0].stderr
        );
    }
    // A real server that refuses the password: the error does not echo it either.
    let bad = with_password(&pg_admin_url(), PASSWORD).replacen("postgres:", "nosuchuser:", 1);
    let r = ctx.cli(&[
        "status",
        "--dataset",
        &ds_pg,
        "--db",
        &format!("{bad}?sslmode=verify-full&password={PASSWORD}"),
    ]);
    assert_ne!(r.code, 0);
    assert!(!r.all_output().contains(PASSWORD), "{}", r.all_output());
}

/// This machine's first non-loopback IPv4 address (`hostname -I`).
fn non_loopback_address() -> String {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname -I");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .expect("this test needs a non-loopback IPv4 address (hostname -I printed none)")
        .to_string()
}

/// A TCP relay on `addr` to the test PostgreSQL (which has no TLS: it declines it), that
/// records every byte the client sends.
fn relay(addr: &str, to: String) -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind(format!("{addr}:0")).expect("bind relay");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&to) else {
                continue;
            };
            let (mut c_read, mut s_write) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let (mut s_read, mut c_write) = (server, client);
            let seen = seen2.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = c_read.read(&mut buf) {
                    if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    seen.lock().expect("lock").extend_from_slice(&buf[..n]);
                }
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
            });
        }
    });
    (port, seen)
}

#[test]
fn no_password_in_cleartext_to_a_server_that_declines_tls() {
    let ctx = Ctx::new(Engine::Postgres, "tls-default");
    let host_port = ctx
        .url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("authority");
    let host_port = host_port.rsplit('@').next().expect("host").to_string();
    let ip = non_loopback_address();
    let (port, seen) = relay(&ip, host_port);
    let remote = with_host_port(&with_password(&ctx.url, PASSWORD), &format!("{ip}:{port}"));
    let ds = ctx.dataset("d.json", json!({}));
    let pkg = example("dogs.v1.package.json");

    for url in [remote.clone(), format!("{remote}?sslmode=prefer")] {
        let r = ctx.cli(&[
            "apply",
            "--package",
            &pkg,
            "--dataset",
            &ds,
            "--db",
            &url,
            "--events",
            "none",
        ]);
        assert_ne!(r.code, 0, "{}", r.all_output());
        assert!(
            r.stderr.contains("never sends a password in cleartext"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("sslmode=disable"), "{}", r.stderr);
        assert!(!r.all_output().contains(PASSWORD));
    }
    // verify-ca and verify-full are understood (not "invalid connection string") and
    // refuse the server that has no TLS.
    for mode in ["verify-ca", "verify-full", "require"] {
        let r = ctx.cli(&[
            "status",
            "--dataset",
            &ds,
            "--db",
            &format!("{remote}?sslmode={mode}"),
        ]);
        assert_ne!(r.code, 0, "{mode}");
        assert!(!r.stderr.contains("invalid"), "{mode}: {}", r.stderr);
        assert!(
            r.stderr.to_lowercase().contains("tls"),
            "{mode}: {}",
            r.stderr
        );
    }
    assert!(ctx.tables().is_empty(), "nothing was applied");
    let sent = seen.lock().expect("lock").clone();
    assert!(
        !String::from_utf8_lossy(&sent).contains(PASSWORD),
        "the password crossed the wire"
    );
    // Explicit sslmode=disable: the user accepted cleartext.
    ctx.cli(&[
        "apply",
        "--package",
        &pkg,
        "--dataset",
        &ds,
        "--db",
        &format!("{remote}?sslmode=disable"),
        "--events",
        "none",
    ])
    .ok();
    assert!(ctx.tables().contains("dog"));
    // Loopback keeps working without TLS (the other tests rely on it).
    ctx.cli(&[
        "status",
        "--dataset",
        &ds,
        "--db",
        &with_password(&ctx.url, PASSWORD),
    ])
    .ok();
}

#[test]
fn jsonl_sink_keeps_whole_lines_when_a_write_fails() {
    let ctx = Ctx::new(Engine::Sqlite, "jsonl");
    let ds = ctx.dataset("d.json", json!({}));
    let events = ctx.path("events.jsonl");
    ctx.apply(&example("dogs.v1.package.json"), &ds, &["--events", "none"])
        .ok();
    // The file is filled with whole lines to just under a 2 MiB file size limit, then a
    // torn line (an earlier crash) is left at its end. The SQLite file stays far below
    // the limit; the events file crosses it, and with SIGXFSZ ignored the write fails
    // with EFBIG part way.
    const LIMIT: usize = 2048 * 1024;
    let line = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(990));
    let mut fill = String::new();
    while fill.len() + line.len() < LIMIT - 200 {
        fill.push_str(&line);
    }
    std::fs::write(&events, format!("{fill}{{\"partial\":")).expect("write");
    let run_limited = |args: &str| {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -f {}; exec \"$0\" {args}",
                LIMIT / 1024
            ))
            .arg(BIN)
            .current_dir(&ctx.dir)
            .env_remove("DEPOT_DATABASE_URL")
            .output()
            .expect("bash")
    };
    let flush = format!("events flush --db '{}' --events 'jsonl:{events}'", ctx.url);
    let apply2 = format!(
        "apply --package '{}' --dataset '{ds}' --db '{}' --events 'jsonl:{events}'",
        example("dogs.v2.package.json"),
        ctx.url
    );
    let out = run_limited(&apply2);
    let text = std::fs::read_to_string(&events).expect("read");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("File too large"),
        "the limit was not hit"
    );
    assert!(
        text.starts_with(&fill) && text.ends_with('\n'),
        "torn line left: {:?}",
        &text[fill.len().min(text.len())..]
    );
    parse_jsonl(&text, "events.jsonl after the failed write");
    let _ = run_limited(&flush);
    // Without the limit, everything pending lands as whole lines.
    ctx.cli(&[
        "events",
        "flush",
        "--db",
        &ctx.url,
        "--events",
        &format!("jsonl:{events}"),
    ])
    .ok();
    let text = std::fs::read_to_string(&events).expect("read");
    let lines = parse_jsonl(&text, "events.jsonl");
    assert!(!lines.is_empty());
    assert!(names(&lines).iter().any(|n| n == "deployed"), "{text}");
}
