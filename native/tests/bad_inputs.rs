//! The bad-input corpus (`tests/bad-inputs/`) run through the CLI binary.
//!
//! Each corpus file is `NAME.package.json` (checked with `valid.dataset.json`) or
//! `NAME.dataset.json` (checked with `valid.package.json`). `expected.json` maps every
//! corpus file to the codes that must appear on stderr; a code listed n times must appear
//! at least n times. Every rejection must be: exit code 2, nothing on stdout, and one
//! stderr line per problem, `FILE:JSONPATH: CODE: message`, never a panic.
//!
//! Files over 32 MiB are generated here, into Cargo's per-target temporary directory,
//! rather than committed.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_depot-migrate");
const VALID_PACKAGE: &str = "valid.package.json";
const VALID_DATASET: &str = "valid.dataset.json";
const MAX_FILE_SIZE: usize = 32 * 1024 * 1024;

/// Every code the CLI may print for bad input (docs/errors.md).
const KNOWN_CODES: &[&str] = &[
    "DM1001", "DM1002", "DM1003", "DM1004", "DM1005", "DM1006", "DM1007", "DM1008", "DM1009",
    "DM1010", "DM1011", "DM2001", "DM2002", "DM2003", "DM2004", "DM2005", "DM2006", "DM2007",
    "DM2008", "DM2009", "DM2010", "DM2011", "DM2012", "DM2013", "DM2014", "DM2015", "DM3001",
    "DM3002",
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad-inputs")
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bad_inputs")
        .join(test);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn is_corpus_file(name: &str) -> bool {
    (name.ends_with(".package.json") || name.ends_with(".dataset.json"))
        && name != VALID_PACKAGE
        && name != VALID_DATASET
}

fn corpus_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/bad-inputs exists")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| is_corpus_file(n))
        .collect();
    names.sort();
    names
}

fn expected() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json maps file names to lists of codes")
}

/// The CLI's arguments for one corpus file: the bad file plus the valid partner.
fn args_for<'a>(command: &'a str, name: &'a str) -> Vec<&'a str> {
    if name.ends_with(".package.json") {
        vec![command, "--package", name, "--dataset", VALID_DATASET]
    } else {
        vec![command, "--package", VALID_PACKAGE, "--dataset", name]
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run depot-migrate")
}

/// One run of a command over every corpus file, shared by the tests that inspect it.
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

fn run_corpus(command: &str) -> BTreeMap<String, Run> {
    corpus_files()
        .into_iter()
        .map(|name| {
            let out = run_in(&corpus_dir(), &args_for(command, &name));
            let stderr = String::from_utf8(out.stderr)
                .unwrap_or_else(|e| panic!("{name}: stderr is not UTF-8: {e}"));
            let run = Run {
                code: out.status.code(),
                stdout: out.stdout,
                stderr,
            };
            (name, run)
        })
        .collect()
}

fn hash_runs() -> &'static BTreeMap<String, Run> {
    static RUNS: OnceLock<BTreeMap<String, Run>> = OnceLock::new();
    RUNS.get_or_init(|| run_corpus("hash"))
}

/// The stderr lines of a run (each terminated by `\n`; a last line without one counts).
fn lines(stderr: &str) -> Vec<&str> {
    let body = stderr.strip_suffix('\n').unwrap_or(stderr);
    if body.is_empty() {
        Vec::new()
    } else {
        body.split('\n').collect()
    }
}

/// Whether `path` is one whole JSONPath as the CLI writes them: `$`, then `.name`,
/// `[0]` or `['any name']` (with `\'`, `\\` and `\uXXXX` escapes) steps.
fn is_json_path(path: &str) -> bool {
    let Some(mut rest) = path.strip_prefix('$') else {
        return false;
    };
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let n = r
                .char_indices()
                .find(|&(i, c)| {
                    !(c.is_ascii_alphanumeric() || c == '_') || (i == 0 && c.is_ascii_digit())
                })
                .map_or(r.len(), |(i, _)| i);
            if n == 0 {
                return false;
            }
            rest = &r[n..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in r.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '\'' {
                    end = Some(i);
                    break;
                }
            }
            let Some(end) = end else { return false };
            let Some(r) = r[end + 1..].strip_prefix(']') else {
                return false;
            };
            rest = r;
        } else if let Some(r) = rest.strip_prefix('[') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || !r[n..].starts_with(']') {
                return false;
            }
            rest = &r[n + 1..];
        } else {
            return false;
        }
    }
    true
}

fn is_code(s: &str) -> bool {
    s.len() == 6 && s.starts_with("DM") && s[2..].bytes().all(|b| b.is_ascii_digit())
}

/// Splits `FILE:JSONPATH: CODE: message` strictly as the documented pattern
/// `^FILE:\$[^ ]*: DM\d{4}: .+` reads it: the path is everything up to the first space.
fn parse_strict<'a>(file: &str, line: &'a str) -> Result<(&'a str, &'a str, &'a str), String> {
    let rest = line
        .strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| format!("does not start with \"{file}:\""))?;
    let (path_colon, after) = rest.split_once(' ').ok_or("has no space after the path")?;
    let path = path_colon
        .strip_suffix(':')
        .ok_or("path is not followed by \": \"")?;
    if !path.starts_with('$') {
        return Err(format!("path {path:?} does not start with $"));
    }
    let (code, message) = after
        .split_once(": ")
        .ok_or("code is not followed by \": \"")?;
    if !is_code(code) {
        return Err(format!("{code:?} is not a DMdddd code"));
    }
    if message.is_empty() {
        return Err("message is empty".into());
    }
    Ok((path, code, message))
}

/// The code of a problem line, read leniently: the first `: DMdddd: ` that follows a
/// well-formed JSONPath (so a path holding a space does not hide the code).
fn code_of<'a>(file: &str, line: &'a str) -> Option<&'a str> {
    let rest = line.strip_prefix(file)?.strip_prefix(':')?;
    let mut from = 0;
    while let Some(i) = rest[from..].find(": DM") {
        let at = from + i;
        let code = rest.get(at + 2..at + 8)?;
        if is_code(code) && rest[at + 8..].starts_with(": ") && is_json_path(&rest[..at]) {
            return Some(code);
        }
        from = at + 1;
    }
    None
}

/// Characters that must never appear raw in a problem line: control characters (C0, DEL,
/// C1, which includes NEL) and the Unicode line and paragraph separators.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

fn fail_if_any(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------

#[test]
fn expected_json_lists_exactly_the_corpus_files() {
    let files: BTreeSet<String> = corpus_files().into_iter().collect();
    let expected = expected();
    let listed: BTreeSet<String> = expected.keys().cloned().collect();
    let unlisted: Vec<_> = files.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&files).collect();
    assert!(
        unlisted.is_empty(),
        "corpus files not in tests/bad-inputs/expected.json: {unlisted:?}"
    );
    assert!(
        missing.is_empty(),
        "expected.json lists files that do not exist: {missing:?}"
    );
    assert!(
        corpus_dir().join(VALID_PACKAGE).is_file() && corpus_dir().join(VALID_DATASET).is_file()
    );
    for (name, codes) in &expected {
        assert!(!codes.is_empty(), "{name}: expected.json lists no codes");
        for c in codes {
            assert!(
                KNOWN_CODES.contains(&c.as_str()),
                "{name}: unknown code {c} in expected.json"
            );
        }
    }
    // The corpus covers every code a file's content can cause (DM1001 is generated below,
    // DM1011 is about the file system, see cli_hash.rs).
    let covered: BTreeSet<&str> = expected.values().flatten().map(String::as_str).collect();
    let uncovered: Vec<_> = KNOWN_CODES
        .iter()
        .filter(|c| !["DM1001", "DM1011"].contains(c) && !covered.contains(*c))
        .collect();
    assert!(uncovered.is_empty(), "no corpus file expects {uncovered:?}");
}

#[test]
fn the_valid_partner_files_are_valid() {
    let out = run_in(
        &corpus_dir(),
        &[
            "hash",
            "--package",
            VALID_PACKAGE,
            "--dataset",
            VALID_DATASET,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "valid.package.json + valid.dataset.json must hash; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hash_rejects_every_corpus_file_with_its_codes() {
    let expected = expected();
    let mut failures = Vec::new();
    for (name, run) in hash_runs() {
        let mut problems = Vec::new();
        if run.code != Some(2) {
            problems.push(format!("exit code {:?}, expected 2", run.code));
        }
        if !run.stdout.is_empty() {
            problems.push(format!(
                "stdout is not empty: {:?}",
                String::from_utf8_lossy(&run.stdout)
            ));
        }
        if run.stderr.trim().is_empty() {
            problems.push("stderr is empty".into());
        }
        if run.stderr.contains("panicked")
            || String::from_utf8_lossy(&run.stdout).contains("panicked")
        {
            problems.push("the CLI panicked".into());
        }
        let mut got: BTreeMap<&str, usize> = BTreeMap::new();
        for line in lines(&run.stderr) {
            if let Some(code) = code_of(name, line) {
                *got.entry(code).or_default() += 1;
            }
        }
        let mut need: BTreeMap<&str, usize> = BTreeMap::new();
        for c in expected.get(name).into_iter().flatten() {
            *need.entry(c.as_str()).or_default() += 1;
        }
        for (code, n) in &need {
            let have = got.get(code).copied().unwrap_or(0);
            if have < *n {
                problems.push(format!("expected {code} x{n}, got it x{have}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n    stderr: {}",
                problems.join("; "),
                run.stderr.trim_end().replace('\n', "\n            ")
            ));
        }
    }
    fail_if_any("hash on the bad-input corpus", &failures);
}

#[test]
fn validate_reports_the_same_problems_as_hash() {
    let mut failures = Vec::new();
    let hash = hash_runs();
    for (name, run) in run_corpus("validate") {
        let h = &hash[&name];
        if run.code != Some(2) {
            failures.push(format!(
                "{name}: validate exit code {:?}, expected 2",
                run.code
            ));
        } else if !run.stdout.is_empty() {
            failures.push(format!("{name}: validate wrote to stdout"));
        } else if run.stderr != h.stderr {
            failures.push(format!(
                "{name}: validate stderr\n{}\ndiffers from hash stderr\n{}",
                run.stderr, h.stderr
            ));
        }
    }
    fail_if_any("validate on the bad-input corpus", &failures);
}

#[test]
fn every_problem_line_is_one_well_formed_line() {
    let mut failures = Vec::new();
    for (name, run) in hash_runs() {
        for line in lines(&run.stderr) {
            let why = match parse_strict(name, line) {
                Err(why) => Some(why),
                Ok((path, code, _)) if !is_json_path(path) => Some(format!(
                    "path {path:?} is not a complete JSONPath (code read as {code})"
                )),
                Ok((_, code, _)) if !KNOWN_CODES.contains(&code) => {
                    Some(format!("{code} is not a known code"))
                }
                Ok(_) => None,
            };
            if let Some(why) = why {
                failures.push(format!("{name}: {why}:\n    {}", line.escape_debug()));
            }
        }
    }
    fail_if_any(
        "stderr lines must match ^FILE:\\$[^ ]*: DM\\d{4}: .+ with a whole JSONPath and a known code",
        &failures,
    );
}

#[test]
fn no_problem_message_echoes_a_control_character() {
    let mut failures = Vec::new();
    for (name, run) in hash_runs() {
        for line in lines(&run.stderr) {
            let bad: Vec<String> = line
                .chars()
                .filter(|&c| is_forbidden_char(c))
                .map(|c| format!("U+{:04X}", c as u32))
                .collect();
            if !bad.is_empty() {
                failures.push(format!(
                    "{name}: raw {} in:\n    {}",
                    bad.join(" "),
                    line.escape_debug()
                ));
            }
        }
        if name.starts_with("inject-") || name.contains("newline") || name.contains("control") {
            // One problem per line even when a name holds line breaks: every line is a
            // problem line of this file.
            for line in lines(&run.stderr) {
                if !line.starts_with(&format!("{name}:$")) {
                    failures.push(format!(
                        "{name}: a name broke the line format:\n    {}",
                        line.escape_debug()
                    ));
                }
            }
        }
    }
    fail_if_any(
        "problem lines must escape control characters and line separators (a hostile name must not reach the terminal raw)",
        &failures,
    );
}

#[test]
fn no_problem_is_reported_twice() {
    let mut failures = Vec::new();
    for (name, run) in hash_runs() {
        let mut seen = BTreeSet::new();
        for line in lines(&run.stderr) {
            if !seen.insert(line) {
                failures.push(format!(
                    "{name}: reported twice:\n    {}",
                    line.escape_debug()
                ));
            }
        }
    }
    fail_if_any("each problem must be reported once", &failures);
}

// ------------------------------------------------------------------------------------
// Oversized files, generated at test time.

/// A valid package of exactly `size` bytes, padded inside a table comment.
fn padded_package(size: usize) -> Vec<u8> {
    let head = br#"{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint","nullable":false}],"primaryKey":["id"],"comment":""#;
    let tail = b"\"}]}\n";
    assert!(size > head.len() + tail.len());
    let mut bytes = Vec::with_capacity(size);
    bytes.extend_from_slice(head);
    bytes.resize(size - tail.len(), b'x');
    bytes.extend_from_slice(tail);
    assert_eq!(bytes.len(), size);
    bytes
}

fn write_scratch(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir(test).join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path
}

fn assert_only_dm1001(out: &Output, file: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{file}: exit code; stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{file}: stdout must be empty");
    assert!(!stderr.contains("panicked"), "{file}: panicked: {stderr}");
    let ls = lines(&stderr);
    assert_eq!(
        ls.len(),
        1,
        "{file}: expected exactly one problem, got:\n{stderr}"
    );
    let (path, code, _) =
        parse_strict(file, ls[0]).unwrap_or_else(|e| panic!("{file}: {e}: {}", ls[0]));
    assert_eq!((path, code), ("$", "DM1001"), "{file}: {}", ls[0]);
}

#[test]
fn a_50_mb_file_is_refused_by_path() {
    let dir = scratch_dir("refused_by_path");
    std::fs::copy(corpus_dir().join(VALID_DATASET), dir.join(VALID_DATASET)).expect("copy dataset");
    let name = "fifty-mb.package.json";
    write_scratch("refused_by_path", name, &padded_package(50 * 1000 * 1000));
    let out = run_in(
        &dir,
        &["hash", "--package", name, "--dataset", VALID_DATASET],
    );
    assert_only_dm1001(&out, name);
    // Refused before parsing: 50 MB of '[' gives the size problem, not a nesting one.
    let name = "fifty-mb-of-brackets.package.json";
    write_scratch("refused_by_path", name, &vec![b'['; 50 * 1000 * 1000]);
    let out = run_in(
        &dir,
        &["hash", "--package", name, "--dataset", VALID_DATASET],
    );
    assert_only_dm1001(&out, name);
    // A dataset file too.
    let name = "fifty-mb.dataset.json";
    let mut ds = br#"{"environmentId":"e2e404529091ed2","datasetId":"9afc0c483ed3","engine":"sqlite","schema":"dogs","datasetAlias":""#.to_vec();
    ds.resize(50 * 1000 * 1000, b'x');
    ds.extend_from_slice(b"\"}");
    write_scratch("refused_by_path", name, &ds);
    std::fs::copy(corpus_dir().join(VALID_PACKAGE), dir.join(VALID_PACKAGE)).expect("copy package");
    let out = run_in(
        &dir,
        &["hash", "--package", VALID_PACKAGE, "--dataset", name],
    );
    assert_only_dm1001(&out, name);
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_with_stdin(dir: &Path, args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn depot-migrate");
    let mut stdin = child.stdin.take().expect("stdin");
    // The CLI stops reading past the limit, so the rest may hit a closed pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread");
    out
}

#[test]
fn a_50_mb_file_is_refused_from_stdin() {
    let out = run_with_stdin(
        &corpus_dir(),
        &["hash", "--package", "-", "--dataset", VALID_DATASET],
        padded_package(50 * 1000 * 1000),
    );
    assert_only_dm1001(&out, "<stdin>");
    let out = run_with_stdin(
        &corpus_dir(),
        &["validate", "--dataset", "-"],
        vec![b' '; 50 * 1000 * 1000],
    );
    assert_only_dm1001(&out, "<stdin>");
}

#[test]
fn the_size_limit_is_32_mib_exactly() {
    let dir = scratch_dir("size_limit");
    std::fs::copy(corpus_dir().join(VALID_DATASET), dir.join(VALID_DATASET)).expect("copy dataset");
    let at = "at-limit.package.json";
    write_scratch("size_limit", at, &padded_package(MAX_FILE_SIZE));
    let out = run_in(&dir, &["hash", "--package", at, "--dataset", VALID_DATASET]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a file of exactly 32 MiB is accepted; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let over = "over-limit.package.json";
    write_scratch("size_limit", over, &padded_package(MAX_FILE_SIZE + 1));
    let out = run_in(
        &dir,
        &["hash", "--package", over, "--dataset", VALID_DATASET],
    );
    assert_only_dm1001(&out, over);
    let out = run_with_stdin(
        &dir,
        &["hash", "--package", "-", "--dataset", VALID_DATASET],
        padded_package(MAX_FILE_SIZE + 1),
    );
    assert_only_dm1001(&out, "<stdin>");
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------------------------

#[test]
fn name_collisions_follow_the_engine_folding() {
    let dir = scratch_dir("folding");
    let package = r#"{"namespace":"dogs","tables":[
        {"name":"dog","columns":[{"name":"id","type":"bigint"}]},
        {"name":"Dog","columns":[{"name":"id","type":"bigint"},{"name":"ID","type":"bigint"}],
         "indexes":[{"name":"DOG_ID_IDX","columns":["id"]}]},
        {"name":"cat","columns":[{"name":"id","type":"bigint"}],"indexes":[{"name":"dog_id_idx","columns":["id"]}]}
    ]}"#;
    std::fs::write(dir.join("p.package.json"), package).expect("write");
    for (engine, collide) in [
        ("postgres", false),
        ("aurora-postgresql", false),
        ("sqlite", true),
        ("snowflake", true),
    ] {
        let ds: Value = serde_json::json!({
            "environmentId": "e2e404529091ed2", "datasetId": "9afc0c483ed3", "engine": engine, "schema": "dogs"
        });
        std::fs::write(dir.join("d.dataset.json"), ds.to_string()).expect("write");
        let out = run_in(
            &dir,
            &[
                "hash",
                "--package",
                "p.package.json",
                "--dataset",
                "d.dataset.json",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        if collide {
            assert_eq!(out.status.code(), Some(2), "{engine}: {stderr}");
            for code in ["DM2002", "DM2003", "DM2004"] {
                assert!(
                    stderr.contains(&format!(": {code}: ")),
                    "{engine}: expected {code}:\n{stderr}"
                );
            }
        } else {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{engine}: names differing in case are distinct:\n{stderr}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn line_parsing_helpers_work() {
    assert!(is_json_path("$"));
    assert!(is_json_path("$.tables[0].columns[12].name"));
    assert!(is_json_path("$.tables[0]['we ird']"));
    assert!(is_json_path(r"$.tables[0]['it\'s \u001b']"));
    assert!(!is_json_path("$.tables[0]['x"));
    assert!(!is_json_path("$.1abc"));
    assert!(!is_json_path("$[x]"));
    let f = "a.package.json";
    assert_eq!(
        code_of(f, "a.package.json:$.tables[0]['x: DM9999: y']: DM1007: m"),
        Some("DM1007")
    );
    assert!(parse_strict(f, "a.package.json:$.x: DM1007: m").is_ok());
    assert!(parse_strict(f, "a.package.json:$.x: DM1007: ").is_err());
    assert!(parse_strict(f, "b.package.json:$.x: DM1007: m").is_err());
}
