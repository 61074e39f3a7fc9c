#!/usr/bin/env python3
"""Cold start of a `bootstrap` binary against the local runtime API (runtime_api.py).

    cold_start.py BINARY [--runs N]

Each run starts the binary fresh (as Lambda does for a new execution environment) and
measures (1) init: from spawning the process to its first GET .../invocation/next, and
(2) first answer: from spawning to the answer of a first invocation that needs no AWS
service (an event the function does not know, answered with an error at once). Prints
median and worst of N runs. A measurement, not a test: nothing is asserted.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtime_api  # noqa: E402


def one_run(binary):
    runtime_api.Handler.state = runtime_api.State(60)
    server = ThreadingHTTPServer(("127.0.0.1", 0), runtime_api.Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    addr = f"127.0.0.1:{server.server_address[1]}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": addr,
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    t0 = time.time()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        req = urllib.request.Request(f"http://{addr}/invoke", data=b'{"cold":"start"}', method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.load(r)
        t_answer = time.time() - t0
        assert answer["kind"] == "error", answer
        init = runtime_api.Handler.state.first_next_at - t0
        return init * 1000, t_answer * 1000
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()
        server.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    one_run(args.binary)  # warm the page cache, as a deployed package would be
    runs = [one_run(args.binary) for _ in range(args.runs)]
    init = [r[0] for r in runs]
    first = [r[1] for r in runs]
    size = os.path.getsize(args.binary) / 1048576
    print(
        f"cold start of {args.binary} ({size:.1f} MB), {args.runs} runs: "
        f"init (spawn -> first /next) median {statistics.median(init):.1f} ms, worst {max(init):.1f} ms; "
        f"first answer median {statistics.median(first):.1f} ms, worst {max(first):.1f} ms"
    )


if __name__ == "__main__":
    main()
