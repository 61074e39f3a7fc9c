#!/usr/bin/env python3
"""A local AWS Lambda runtime API (2018-06-01) that drives a real `bootstrap` binary.

    runtime_api.py [--port PORT] [--function-timeout SECONDS]

prints HOST:PORT on its first line (the value for AWS_LAMBDA_RUNTIME_API) and serves.

The function side is what Lambda implements for custom runtimes:

    GET  /2018-06-01/runtime/invocation/next          blocks until an invocation is queued
    POST /2018-06-01/runtime/invocation/{id}/response the function's answer
    POST /2018-06-01/runtime/invocation/{id}/error    the function's error
    POST /2018-06-01/runtime/init/error               the function failed to start

The test side (what `aws lambda invoke` would be):

    POST /invoke      body: the event; waits for the answer and returns
                      {"kind": "response"|"error", "payload": ..., "ms": handler time}
    GET  /stats       {"nextCalls": N, "firstNextAt": unix seconds, "initErrors": [...]}

Invocations are served one at a time, as Lambda does for one execution environment.
Standard library only.
"""

import argparse
import json
import queue
import threading
import time
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
                }
            self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        else:
            self._send(404)

    def do_POST(self):
        st = self.state
        body = self._body()
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
    args = ap.parse_args()
    Handler.state = State(args.function_timeout)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # The first line of output is the address (with --port 0, the port the OS chose).
    print(f"127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
