#!/usr/bin/env python3
"""A local AWS Lambda runtime API (2018-06-01) that drives a real `bootstrap` binary.

    runtime_api.py [--port PORT] [--function-timeout SECONDS]
                   [--invoke-secret KEY --invoke-function NAME]

prints HOST:PORT on its first line (the value for AWS_LAMBDA_RUNTIME_API) and serves.

The function side is what Lambda implements for custom runtimes:

    GET  /2018-06-01/runtime/invocation/next          blocks until an invocation is queued
    POST /2018-06-01/runtime/invocation/{id}/response the function's answer
    POST /2018-06-01/runtime/invocation/{id}/error    the function's error
    POST /2018-06-01/runtime/init/error               the function failed to start

The test side (what `aws lambda invoke` would be):

    POST /invoke      body: the event; waits for the answer and returns
                      {"kind": "response"|"error", "payload": ..., "ms": handler time}
    GET  /stats       {"nextCalls": N, "firstNextAt": unix seconds, "initErrors": [...],
                       "invokeApiCalls": [...]}

With --invoke-secret, a stand-in for AWS's Lambda Invoke API (what `depot-migrate
--runner FUNCTION` calls; AWS cannot run here):

    POST /2015-03-31/functions/{FunctionName}/invocations

It checks the request as Lambda would before running anything: the function name (or
its ARN) is --invoke-function, `X-Amz-Invocation-Type` is `RequestResponse` (or absent),
the body is JSON, and the SigV4 signature (service `lambda`) verifies with the secret
access key --invoke-secret. A bad request gets Lambda's error shape (HTTP 403
`InvalidSignatureException`, 404 `ResourceNotFoundException`, 400
`InvalidRequestContentException`). A good one is queued for the function like /invoke;
the answer is the function's payload, with `X-Amz-Request-Id` and, for a function error,
`X-Amz-Function-Error: Unhandled`. Each call is recorded in /stats.

Invocations are served one at a time, as Lambda does for one execution environment.
Standard library only.
"""

import argparse
import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class State:
    def __init__(self, timeout):
        self.timeout = timeout
        self.pending = queue.Queue()  # (request id, event bytes)
        self.answers = {}  # request id -> queue of (kind, payload bytes)
        self.lock = threading.Lock()
        self.next_calls = 0
        self.first_next_at = None
        self.init_errors = []
        self.invoke_lock = threading.Lock()  # one invocation at a time
        self.invoke_secret = None
        self.invoke_function = None
        self.invoke_api_calls = []


def sigv4_check(method, raw_path, headers, body, secret):
    """None when the SigV4 signature of the request verifies, else why not."""
    auth = headers.get("Authorization") or ""
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no AWS4-HMAC-SHA256 Authorization header"
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    try:
        _key_id, date, region, service, terminal = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError):
        return f"malformed Authorization header: {auth}"
    if service != "lambda" or terminal != "aws4_request":
        return f"signed for service {service!r}, not lambda"
    amz_date = headers.get("X-Amz-Date") or ""
    if not amz_date.startswith(date):
        return "X-Amz-Date does not match the credential scope"
    for required in ("host", "x-amz-date"):
        if required not in signed:
            return f"{required} is not a signed header"
    path, _, query = raw_path.partition("?")
    # Services other than S3 sign the path URI-encoded once more (the path on the wire is
    # already encoded: `%3A` in a function ARN is signed as `%253A`).
    canonical_uri = urllib.parse.quote(path, safe="/-_.~")
    canonical_query = "&".join(sorted(query.split("&"))) if query else ""
    canonical_headers = "".join(
        f"{h}:{' '.join((headers.get(h) or '').split())}\n" for h in signed
    )
    payload_hash = headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest()
    canonical = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, ";".join(signed), payload_hash]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )

    def mac(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(mac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "the signature does not verify"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the function was stopped with a request open (GET .../next)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        st = self.state
        if self.path == f"{PREFIX}/invocation/next":
            with st.lock:
                st.next_calls += 1
                if st.first_next_at is None:
                    st.first_next_at = time.time()
            request_id, event = st.pending.get()
            deadline_ms = int((time.time() + st.timeout) * 1000)
            self._send(
                200,
                event,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:eu-west-1:123456789012:function:depot-migrate-runner",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                },
            )
        elif self.path == "/stats":
            with st.lock:
                doc = {
                    "nextCalls": st.next_calls,
                    "firstNextAt": st.first_next_at,
                    "initErrors": st.init_errors,
                    "invokeApiCalls": st.invoke_api_calls,
                }
            self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        else:
            self._send(404)

    def _run(self, body):
        """Queues one invocation for the function; (request id, kind, payload bytes)."""
        st = self.state
        with st.invoke_lock:
            request_id = str(uuid.uuid4())
            answer = queue.Queue()
            with st.lock:
                st.answers[request_id] = answer
            st.pending.put((request_id, body))
            try:
                kind, payload = answer.get(timeout=st.timeout + 30)
            except queue.Empty:
                kind, payload = "timeout", b"null"
        return request_id, kind, payload

    def _invoke_api(self, body):
        """The stand-in for Lambda's Invoke API (see the module docstring)."""
        st = self.state
        name = urllib.parse.unquote(self.path.split("/")[3])
        record = {
            "function": name,
            "invocationType": self.headers.get("X-Amz-Invocation-Type"),
            "authorization": (self.headers.get("Authorization") or "").split(" ")[0],
            "problem": None,
        }

        def refuse(status, kind, message):
            record["problem"] = f"{kind}: {message}"
            with st.lock:
                st.invoke_api_calls.append(record)
            doc = json.dumps({"Type": "User", "message": message}).encode()
            self._send(status, doc, {"Content-Type": "application/json", "x-amzn-ErrorType": kind})

        problem = sigv4_check("POST", self.path, self.headers, body, st.invoke_secret)
        if problem:
            return refuse(403, "InvalidSignatureException", problem)
        wanted = st.invoke_function
        if name != wanted and not (name.startswith("arn:aws:lambda:") and name.endswith(f":function:{wanted}")):
            return refuse(404, "ResourceNotFoundException", f"Function not found: {name}")
        if (self.headers.get("X-Amz-Invocation-Type") or "RequestResponse") != "RequestResponse":
            return refuse(400, "InvalidParameterValueException", "only RequestResponse is served here")
        try:
            json.loads(body or b"null")
        except ValueError:
            return refuse(400, "InvalidRequestContentException", "Could not parse request body into json")
        request_id, kind, payload = self._run(body)
        record["requestId"] = request_id
        with st.lock:
            st.invoke_api_calls.append(record)
        headers = {"Content-Type": "application/json", "X-Amz-Request-Id": request_id,
                   "X-Amz-Executed-Version": "$LATEST"}
        if kind != "response":
            headers["X-Amz-Function-Error"] = "Unhandled"
        self._send(200, payload, headers)

    def do_POST(self):
        st = self.state
        body = self._body()
        if st.invoke_secret and self.path.startswith("/2015-03-31/functions/") and self.path.endswith("/invocations"):
            self._invoke_api(body)
            return
        if self.path == "/invoke":
            with st.invoke_lock:
                request_id = str(uuid.uuid4())
                answer = queue.Queue()
                with st.lock:
                    st.answers[request_id] = answer
                started = time.time()
                st.pending.put((request_id, body))
                try:
                    kind, payload = answer.get(timeout=st.timeout + 30)
                except queue.Empty:
                    kind, payload = "timeout", b"null"
                ms = (time.time() - started) * 1000
            try:
                parsed = json.loads(payload or b"null")
            except ValueError:
                parsed = payload.decode("utf-8", "replace")
            doc = {"kind": kind, "payload": parsed, "ms": ms}
            self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
            return
        if self.path == f"{PREFIX}/init/error":
            with st.lock:
                st.init_errors.append(body.decode("utf-8", "replace"))
            self._send(202, b"{}")
            return
        parts = self.path.split("/")
        # /2018-06-01/runtime/invocation/{id}/{response|error}
        if len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
            with st.lock:
                answer = st.answers.pop(parts[4], None)
            if answer is None:
                self._send(400, b'{"errorMessage":"unknown request id"}')
                return
            answer.put((parts[5], body))
            self._send(202, b"{}")
            return
        self._send(404)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--function-timeout", type=float, default=300.0)
    ap.add_argument("--invoke-secret", help="serve the Invoke API stand-in, checking SigV4 with this secret key")
    ap.add_argument("--invoke-function", default="depot-migrate-runner")
    args = ap.parse_args()
    Handler.state = State(args.function_timeout)
    Handler.state.invoke_secret = args.invoke_secret
    Handler.state.invoke_function = args.invoke_function
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # The first line of output is the address (with --port 0, the port the OS chose).
    print(f"127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
