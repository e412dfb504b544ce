#!/usr/bin/env python3
"""Resident memory of one Lambda function binary while it serves requests.

A benchmark, not a test: the budget (<= 10 MiB resident per function) is a
measurement to repeat on a release build, not an assertion to time.

Usage (the emulators running, a release build of the functions, and the
table created once, e.g. by `khamsa-local --backend aws` with the same
KHAMSA_TABLE):
    source "$(bash infra/emulators/up.sh)"
    cargo build --release -p khamsa-functions --bin orders
    export KHAMSA_TABLE=bench \
      KHAMSA_NOTIFICATIONS_QUEUE_URL=$AWS_ENDPOINT_URL_SQS/123456789012/bench-n \
      KHAMSA_TIMERS_QUEUE_URL=$AWS_ENDPOINT_URL_SQS/123456789012/bench-t
    python3 infra/bench/lambda_rss.py target/release/orders 2000

It plays the Lambda Runtime API on a loopback port, hands the binary N API
Gateway v2 events (GET /orders/<missing id> as a signed-in user: one profile
read and one order read each), and prints the peak (VmHWM) and final
(VmRSS) resident set of the process.
"""
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time

binary, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
events = []
for i in range(count):
    events.append({
        "version": "2.0", "routeKey": "$default", "rawPath": f"/orders/ord_missing{i}",
        "rawQueryString": "", "headers": {"host": "bench"},
        "requestContext": {
            "accountId": "bench", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": {"method": "GET", "path": f"/orders/ord_missing{i}", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": f"r{i}", "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": {"sub": "bench-user", "email": "bench@example.com"}, "scopes": None}},
        },
        "isBase64Encoded": False,
    })
answers = []
done = threading.Event()


class Runtime(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        if not events:
            done.set()
            time.sleep(3600)  # park the runtime's poll until we kill it
            return
        body = json.dumps(events.pop(0)).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"req{len(answers)}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:0:function:bench")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        answers.append(json.loads(self.rfile.read(n) or b"{}"))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Runtime)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = dict(os.environ,
           AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
           AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
           AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_STREAM_NAME="bench",
           AWS_LAMBDA_LOG_GROUP_NAME="bench", KHAMSA_TABLE=os.environ.get("KHAMSA_TABLE", "bench"))
proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
started = time.time()
if not done.wait(120):
    proc.kill()
    sys.exit(f"timed out after {len(answers)} answers")
status = open(f"/proc/{proc.pid}/status").read()
mem = {l.split(":")[0]: l.split(":")[1].strip() for l in status.splitlines() if l.startswith(("VmHWM", "VmRSS"))}
proc.kill()
codes = {}
for a in answers:
    codes[a.get("statusCode")] = codes.get(a.get("statusCode"), 0) + 1
print(f"{os.path.basename(binary)}: {len(answers)} requests in {time.time() - started:.1f}s, "
      f"status codes {codes}, peak resident {mem.get('VmHWM')}, resident now {mem.get('VmRSS')}")
