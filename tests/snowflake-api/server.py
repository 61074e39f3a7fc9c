#!/usr/bin/env python3
"""A STAND-IN for the Snowflake SQL API v2, for depot-migrate's tests.

It is not Snowflake. It speaks the documented request and response shapes of
`POST /api/v2/statements`, `GET /api/v2/statements/{handle}` and
`POST /api/v2/statements/{handle}/cancel`, verifies key-pair JWTs and an OAuth token, and
executes each statement on fakesnow (a DuckDB-backed Snowflake emulator), patched to
behave like Snowflake where fakesnow does not (see README.md for the list and the known
gaps). Everything it executes is written to a statement log that tests read.

Usage:
  server.py --account ACCT --user USER --database DB [--public-key PEM]... [--oauth-token T]
            [--port 0] [--log FILE]

It prints `listening on PORT` on the first line of stdout once it accepts requests.

Test hooks (no authentication; loopback only):
  GET  /_standin/log              the statement log (JSON list)
  POST /_standin/faults           {"failPattern": RE, "failTimes": N, "failNth": N,
                                   "slowPattern": RE, "slowSeconds": S, "holdPattern": RE}
                                   replaces the fault settings; `{}` clears them
  POST /_standin/release          lets statements held by holdPattern run
  GET  /_standin/health           200 when up
"""

from __future__ import annotations

import argparse
import warnings
import base64
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt  # PyJWT
import sqlglot
from cryptography.hazmat.primitives import serialization
from sqlglot import exp

import fakesnow.instance
import snowflake.connector.constants as sf_constants

# How long POST waits for a statement before answering 202 (Snowflake waits up to 45 s).
SYNC_WAIT_SECONDS = 0.2

# fakesnow warns about an extra Arrow copy on every result; irrelevant here.
warnings.filterwarnings("ignore", category=UserWarning)


def fingerprint(public_key) -> str:
    """SHA256:<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>, as Snowflake shows
    it in DESC USER (RSA_PUBLIC_KEY_FP)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


class ApiError(Exception):
    def __init__(self, http: int, code: str, message: str, sql_state: str = ""):
        super().__init__(message)
        self.http, self.code, self.message, self.sql_state = http, code, message, sql_state


class Statement:
    def __init__(self, handle: str, request_id: str, sql: str):
        self.handle = handle
        self.request_id = request_id
        self.sql = sql
        self.done = threading.Event()
        self.cancelled = False
        self.polled = False
        self.result: dict | None = None  # 200 body
        self.error: ApiError | None = None


class StandIn:
    def __init__(self, args):
        self.account = args.account.upper()
        self.user = args.user.upper()
        self.database = args.database.upper()
        self.oauth_token = args.oauth_token
        self.keys = []
        for path in args.public_key or []:
            with open(path, "rb") as f:
                key = serialization.load_pem_public_key(f.read())
            self.keys.append((fingerprint(key), key))
        self.log_path = args.log
        self.clock_skew = args.clock_skew
        self.lock = threading.Lock()  # serializes execution: one statement at a time
        self.state_lock = threading.Lock()
        self.statements: dict[str, Statement] = {}
        self.by_request: dict[str, Statement] = {}
        self.log: list[dict] = []
        self.faults: dict = {}
        self.released = threading.Event()
        self.executed = 0  # statements executed (for failNth)
        self.fs = fakesnow.instance.FakeSnow(create_database_on_connect=True)
        # Create the configured database once; later connections never create one.
        self.fs.connect(database=self.database).close()
        self.fs.create_database_on_connect = False
        self.conns = {}
        self.fs.create_schema_on_connect = False

    def connection(self, schema):
        """One fakesnow connection per schema, reused (statements run one at a time)."""
        key = (schema or "").upper()
        if key not in self.conns:
            self.conns[key] = self.fs.connect(database=self.database, schema=schema, paramstyle="qmark")
        return self.conns[key]

    # --- authentication -------------------------------------------------------------
    def authenticate(self, headers) -> str:
        auth = headers.get("Authorization", "")
        kind = headers.get("X-Snowflake-Authorization-Token-Type", "OAUTH").upper()
        if not auth.startswith("Bearer "):
            raise ApiError(401, "390101", "Authorization header missing or not a Bearer token.")
        token = auth[len("Bearer "):]
        if kind == "OAUTH":
            if self.oauth_token is None or token != self.oauth_token:
                raise ApiError(401, "390303", "Invalid OAuth access token.")
            return "oauth"
        if kind != "KEYPAIR_JWT":
            raise ApiError(401, "390101", f"Unsupported authorization token type {kind}.")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise ApiError(401, "390144", f"JWT token is invalid. [{e}]") from e
        if header.get("alg") != "RS256":
            raise ApiError(401, "390144", "JWT token is invalid. [alg must be RS256]")
        sub = f"{self.account}.{self.user}"
        iss = str(claims.get("iss", ""))
        if claims.get("sub") != sub or not iss.startswith(sub + ".SHA256:"):
            raise ApiError(401, "390144", "JWT token is invalid. [issuer or subject does not match the account and user]")
        fp = iss[len(sub) + 1:]
        key = next((k for f, k in self.keys if f == fp), None)
        if key is None:
            raise ApiError(401, "390144", "JWT token is invalid. [public key fingerprint does not match the user's key]")
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"], options={"require": ["exp", "iat", "iss", "sub"]})
            # A server clock ahead by --clock-skew seconds sees tokens expire that early.
            if int(claims["exp"]) <= time.time() + self.clock_skew:
                raise jwt.ExpiredSignatureError("expired")
        except jwt.ExpiredSignatureError as e:
            raise ApiError(401, "390318", "JWT token has expired.") from e
        except jwt.PyJWTError as e:
            raise ApiError(401, "390144", f"JWT token is invalid. [{e}]") from e
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            raise ApiError(401, "390144", "JWT token is invalid. [lifetime longer than one hour]")
        return "jwt"

    # --- the statement log ----------------------------------------------------------
    def record(self, entry: dict) -> None:
        entry["seq"] = len(self.log)
        self.log.append(entry)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    # --- Snowflake behaviour on top of fakesnow --------------------------------------
    def rewrite(self, sql: str) -> str | None:
        """The SQL fakesnow should run, or None for a statement Snowflake accepts that
        has no effect here (declared constraints). Raises ApiError where Snowflake would
        refuse."""
        stripped = sql.strip().rstrip(";").strip()
        if re.match(r"(?is)^(BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK)\b", stripped):
            raise ApiError(422, "000002", "The stand-in does not support explicit transactions.", "0A000")
        if re.search(r"(?is)\bALTER\s+COLUMN\b.*\bSET\s+DEFAULT\b|\bMODIFY\s+COLUMN\b.*\bSET\s+DEFAULT\b", stripped):
            # Snowflake: SET DEFAULT only to a sequence; a constant is refused.
            if not re.search(r"(?is)SET\s+DEFAULT\s+\S+\.NEXTVAL", stripped):
                raise ApiError(422, "002002", "SQL compilation error: Unsupported feature 'Alter Column Set Default'.", "0A000")
        try:
            tree = sqlglot.parse_one(stripped, read="snowflake")
        except Exception:
            return stripped
        if isinstance(tree, exp.Alter):
            actions = tree.args.get("actions") or []
            if actions and all(
                isinstance(a, exp.AddConstraint) or (isinstance(a, exp.Drop) and str(a.args.get("kind", "")).upper() == "CONSTRAINT")
                for a in actions
            ):
                # Declared, not enforced (primary key / unique): nothing to run.
                return None
            if re.match(r"(?is)^ALTER\s+TABLE\s+\S+\s+(ADD|DROP)\s+CONSTRAINT\b", stripped):
                return None
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            changed = False
            schema = tree.this if isinstance(tree.this, exp.Schema) else None
            if schema is not None:
                for e in list(schema.expressions):
                    if isinstance(e, (exp.PrimaryKey, exp.UniqueColumnConstraint)) or (
                        isinstance(e, exp.Constraint)
                        and any(isinstance(x, (exp.PrimaryKey, exp.UniqueColumnConstraint, exp.PrimaryKeyColumnConstraint)) for x in e.expressions)
                    ):
                        e.pop()
                        changed = True
                for col in schema.find_all(exp.ColumnDef):
                    for c in list(col.args.get("constraints") or []):
                        if isinstance(c.args.get("kind"), (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint)):
                            c.pop()
                            changed = True
            if changed:
                return tree.sql(dialect="snowflake")
        return stripped

    def value(self, v):
        if v is None:
            return None
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, float):
            return repr(v)
        return str(v)

    def bind_params(self, bindings: dict | None) -> list:
        if not bindings:
            return []
        params = []
        for i in range(1, len(bindings) + 1):
            b = bindings.get(str(i))
            if b is None:
                raise ApiError(422, "002049", f"Binding {i} is missing.", "42601")
            t, v = str(b.get("type", "TEXT")).upper(), b.get("value")
            if v is None:
                params.append(None)
            elif t == "FIXED":
                params.append(int(v))
            elif t == "REAL":
                params.append(float(v))
            elif t == "BOOLEAN":
                params.append(str(v).lower() == "true")
            else:
                params.append(str(v))
        return params

    def execute(self, st: Statement, body: dict) -> None:
        """Runs one statement (in a worker thread) and stores its 200 body or error."""
        try:
            faults = dict(self.faults)
            slow = faults.get("slowPattern")
            if slow and re.search(slow, st.sql, re.I | re.S):
                with self.lock:
                    self.record({"requestId": st.request_id, "handle": st.handle, "sql": st.sql, "outcome": "started (slow)"})
                deadline = time.monotonic() + float(faults.get("slowSeconds", 2))
                while time.monotonic() < deadline and not st.cancelled:
                    time.sleep(0.02)
            hold = faults.get("holdPattern")
            if hold and re.search(hold, st.sql, re.I | re.S):
                with self.lock:
                    self.record({"requestId": st.request_id, "handle": st.handle, "sql": st.sql, "outcome": "started (held)"})
                while not self.released.wait(0.02) and not st.cancelled:
                    pass
            if st.cancelled:
                raise ApiError(422, "000604", "SQL execution canceled", "57014")
            database = (body.get("database") or self.database).upper()
            if database != self.database:
                raise ApiError(422, "002043", f"SQL compilation error: Object does not exist, or operation cannot be performed. (database {database})", "02000")
            with self.lock:
                self.executed += 1
                n = self.executed
                fail = faults.get("failPattern")
                fail_now = (faults.get("failNth") == n) or (
                    fail and re.search(fail, st.sql, re.I | re.S) and faults.get("failTimes", 1) > 0
                )
                entry = {"requestId": st.request_id, "handle": st.handle, "sql": st.sql, "outcome": None}
                if fail_now:
                    if fail and "failTimes" in self.faults:
                        self.faults["failTimes"] = self.faults["failTimes"] - 1
                    entry["outcome"] = "injected-failure"
                    self.record(entry)
                    raise ApiError(422, "100038", "Numeric value 'x' is not recognized (injected failure)", "22018")
                try:
                    sql = self.rewrite(st.sql)
                except ApiError as e:
                    entry["outcome"] = "error"
                    entry["code"] = e.code
                    self.record(entry)
                    raise
                if sql is None:
                    entry["outcome"] = "ok (declared constraint, not enforced)"
                    self.record(entry)
                    st.result = self.result_body(st, ["status"], ["TEXT"], [["Statement executed successfully."]], None)
                    return
                conn = self.connection(body.get("schema"))
                cur = conn.cursor()
                params = self.bind_params(body.get("bindings"))
                try:
                    cur.execute(sql, params) if params else cur.execute(sql)
                except Exception as e:  # noqa: BLE001 - every engine error becomes an API error
                    code = str(getattr(e, "errno", "") or "002003").zfill(6)
                    state = getattr(e, "sqlstate", None) or "42000"
                    msg = getattr(e, "msg", None) or str(e)
                    entry["outcome"] = "error"
                    entry["code"] = code
                    self.record(entry)
                    raise ApiError(422, code, f"SQL execution error: {msg}", state) from e
                names = [d.name for d in cur.description] if cur.description else ["status"]
                types = [sf_constants.FIELD_ID_TO_NAME.get(d.type_code, "TEXT") for d in cur.description] if cur.description else ["TEXT"]
                rows = [[self.value(v) for v in r] for r in cur.fetchall()]
                stats = None
                lowered = [x.lower() for x in names]
                if lowered and lowered[0] in ("number of rows updated", "number of rows inserted", "number of rows deleted"):
                    key = {"number of rows updated": "numRowsUpdated", "number of rows inserted": "numRowsInserted", "number of rows deleted": "numRowsDeleted"}
                    stats = {key[x]: int(rows[0][i] or 0) for i, x in enumerate(lowered) if x in key} if rows else {}
                entry["outcome"] = "ok"
                entry["rowcount"] = cur.rowcount
                self.record(entry)
                st.result = self.result_body(st, names, types, rows, stats)
        except ApiError as e:
            st.error = e
        except Exception as e:  # noqa: BLE001
            st.error = ApiError(422, "002003", f"SQL execution error: {e}", "42000")
        finally:
            if st.result is not None or st.error is not None:
                st.done.set()

    def result_body(self, st, names, types, rows, stats) -> dict:
        body = {
            "resultSetMetaData": {
                "numRows": len(rows),
                "format": "jsonv2",
                "partitionInfo": [{"rowCount": len(rows), "uncompressedSize": len(json.dumps(rows))}],
                "rowType": [
                    {"name": n, "database": "", "schema": "", "table": "", "type": t.lower(), "nullable": True,
                     "byteLength": None, "length": None, "scale": None, "precision": None, "collation": None}
                    for n, t in zip(names, types)
                ],
            },
            "data": rows,
            "code": "090001",
            "statementStatusUrl": f"/api/v2/statements/{st.handle}?requestId={st.request_id}",
            "requestId": st.request_id,
            "sqlState": "00000",
            "statementHandle": st.handle,
            "message": "Statement executed successfully.",
            "createdOn": int(time.time() * 1000),
        }
        if stats is not None:
            body["stats"] = stats
        return body

    def status(self, st: Statement) -> tuple[int, dict]:
        if not st.done.is_set():
            return 202, {
                "code": "333334",
                "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
                "statementHandle": st.handle,
                "statementStatusUrl": f"/api/v2/statements/{st.handle}",
            }
        if st.error is not None:
            e = st.error
            return e.http, {"code": e.code, "message": e.message, "sqlState": e.sql_state, "statementHandle": st.handle}
        return 200, st.result or {}


def make_handler(app: StandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm
        # and delayed ACKs add 40 ms to every answer.
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):  # quiet
            pass

        def send(self, code: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> dict:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            if not raw:
                return {}
            try:
                return json.loads(raw)
            except json.JSONDecodeError as e:
                raise ApiError(400, "390142", f"Incoming request does not contain a valid payload: {e}") from e

        def handle_api(self, method: str) -> None:
            url = urlparse(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            parts = [p for p in url.path.split("/") if p]
            if parts[:1] == ["_standin"]:
                return self.hooks(method, parts[1:])
            if parts[:3] != ["api", "v2", "statements"]:
                raise ApiError(404, "390404", "Not found.")
            body = self.body()
            app.authenticate(self.headers)
            if method == "POST" and len(parts) == 3:
                return self.submit(q, body)
            if len(parts) >= 4:
                with app.state_lock:
                    st = app.statements.get(parts[3])
                if st is None:
                    raise ApiError(404, "390404", f"Statement {parts[3]} not found.")
                if method == "GET" and len(parts) == 4:
                    if not st.done.is_set() and not st.polled:
                        st.polled = True
                        app.record({"requestId": st.request_id, "handle": st.handle, "sql": st.sql, "outcome": "polled (202)"})
                    return self.send(*app.status(st))
                if method == "POST" and parts[4:] == ["cancel"]:
                    st.cancelled = True
                    app.record({"requestId": st.request_id, "handle": st.handle, "sql": st.sql, "outcome": "cancel-requested"})
                    return self.send(200, {"code": "000604", "sqlState": "57014", "message": "successfully canceled", "statementHandle": st.handle})
            raise ApiError(404, "390404", "Not found.")

        def submit(self, q: dict, body: dict) -> None:
            sql = body.get("statement")
            if not isinstance(sql, str) or not sql.strip():
                raise ApiError(400, "390142", "Incoming request does not contain a valid payload: statement missing.")
            request_id = q.get("requestId") or str(uuid.uuid4())
            retry = q.get("retry", "false").lower() == "true"
            with app.state_lock:
                earlier = app.by_request.get(request_id)
                if earlier is not None and retry:
                    # A resubmission: never executed twice; the original's outcome.
                    app.record({"requestId": request_id, "handle": earlier.handle, "sql": sql, "outcome": "deduplicated (retry=true)"})
                    st = earlier
                else:
                    st = Statement(str(uuid.uuid4()), request_id, sql)
                    app.statements[st.handle] = st
                    app.by_request[request_id] = st
                    threading.Thread(target=app.execute, args=(st, body), daemon=True).start()
            wait = 0 if q.get("async", "false").lower() == "true" else SYNC_WAIT_SECONDS
            st.done.wait(wait)
            self.send(*app.status(st))

        def hooks(self, method: str, parts: list[str]) -> None:
            if parts == ["health"]:
                return self.send(200, {"ok": True})
            if parts == ["log"] and method == "GET":
                return self.send(200, app.log)
            if parts == ["faults"] and method == "POST":
                app.faults = self.body()
                app.released.clear()
                return self.send(200, {"ok": True, "faults": app.faults})
            if parts == ["release"] and method == "POST":
                app.released.set()
                return self.send(200, {"ok": True})
            raise ApiError(404, "390404", "Not found.")

        def dispatch(self, method: str) -> None:
            try:
                self.handle_api(method)
            except ApiError as e:
                self.send(e.http, {"code": e.code, "message": e.message, "sqlState": e.sql_state})
            except Exception as e:  # noqa: BLE001
                self.send(500, {"code": "000000", "message": f"stand-in internal error: {e}"})

        def do_GET(self):  # noqa: N802
            self.dispatch("GET")

        def do_POST(self):  # noqa: N802
            self.dispatch("POST")

    return Handler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--account", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--database", required=True)
    p.add_argument("--public-key", action="append", help="PEM public key of the user (repeatable)")
    p.add_argument("--oauth-token", help="the one OAuth access token accepted")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log", help="also append the statement log to this JSONL file")
    p.add_argument("--clock-skew", type=int, default=0, help="seconds the server clock runs ahead (expired-token tests)")
    args = p.parse_args()
    app = StandIn(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(app))
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
