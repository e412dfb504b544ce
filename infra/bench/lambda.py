#!/usr/bin/env python3
"""Lambda-level benchmark: function binaries beside the floor, one run.

Run through `infra/bench/lambda.sh` (it builds, starts DynamoDB Local and
seeds the table). Each binary runs under a Lambda Runtime API stand-in:
COLD cold starts of one event each, then one process for WARMUP + WARM
events. Measured per binary:
  - init: CPU time of all its threads (schedstat, ns) and wall time from
    spawn to its first `GET /invocation/next`; median of the cold starts;
  - cold start: CPU from spawn to the second `next` (init and the first
    event: what a caller of a cold function waits on); median;
  - CPU per warm event: CPU between the first and last `next` of the warm
    run, over WARM events;
  - peak resident memory (VmHWM) after the warm run;
  - zip: `bootstrap` zipped at level 9, as SAM deploys it;
  - DynamoDB requests per warm event, counted by a proxy in front of
    DynamoDB Local, by operation.
SQS and Secrets Manager are a small stand-in here (not moto: moto's SQS
slows as its queues fill), answering at once.

Usage: lambda.py SEED_JSON floor=PATH order=PATH deliver=PATH orders=PATH
       (`order@before=PATH` and the like run another build of a function
       in the same run, for before-and-after tables; each run's
       Idempotency-Keys name the binary, and a 201 that names an order
       already answered stops the run: it would measure a replay)
Env: KHAMSA_TABLE, AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local), credentials;
BENCH_COLD (20), BENCH_WARM (2000), BENCH_WARMUP (50).
"""
import hashlib
import http.client
import http.server
import io
import json
import os
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import zipfile

COLD = int(os.environ.get("BENCH_COLD", "20"))
WARM = int(os.environ.get("BENCH_WARM", "2000"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "50"))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler):
    s = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s, f"http://127.0.0.1:{s.server_address[1]}"


# ---- DynamoDB: a counting proxy in front of DynamoDB Local ----------------
ddb_counts = {}
ddb_lock = threading.Lock()
ddb_target = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
local = threading.local()


class DynamoProxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else 40 ms delayed-ACK stalls per answer

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        op = (self.headers.get("X-Amz-Target") or "?").rsplit(".", 1)[-1]
        with ddb_lock:
            ddb_counts[op] = ddb_counts.get(op, 0) + 1
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        for attempt in range(2):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(ddb_target.hostname, ddb_target.port)
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                res = conn.getresponse()
                data = res.read()
                break
            except (http.client.HTTPException, OSError):
                local.conn = None
                if attempt:
                    raise
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ---- SQS and Secrets Manager stand-in --------------------------------------
sqs_counts = {}


class AwsStandIn(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else 40 ms delayed-ACK stalls per answer

    def log_message(self, *args):
        pass

    def reply(self, obj, ctype):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        target = self.headers.get("X-Amz-Target") or "?"
        with ddb_lock:
            sqs_counts[target] = sqs_counts.get(target, 0) + 1
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
        if target == "AmazonSQS.SendMessage":
            self.reply({"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": md5(req["MessageBody"])},
                       "application/x-amz-json-1.0")
        elif target == "AmazonSQS.SendMessageBatch":
            ok = [{"Id": e["Id"], "MessageId": str(uuid.uuid4()), "MD5OfMessageBody": md5(e["MessageBody"])}
                  for e in req.get("Entries", [])]
            self.reply({"Successful": ok, "Failed": []}, "application/x-amz-json-1.0")
        elif target == "secretsmanager.GetSecretValue":
            self.reply({"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench",
                        "Name": req.get("SecretId", "bench"), "VersionId": "v1",
                        "SecretString": json.dumps({"client_id": "bench", "client_secret": "bench"}),
                        "CreatedDate": 0}, "application/x-amz-json-1.1")
        else:
            data = json.dumps({"__type": "UnknownOperationException", "message": target}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


# ---- the Runtime API stand-in -----------------------------------------------
def cpu_ns(pid):
    """CPU time of every thread of `pid` so far (schedstat's first field)."""
    total = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    return total


def event(method, path, user, body=None, key=None, i=0):
    headers = {"host": "bench", "content-type": "application/json"}
    if key:
        headers["idempotency-key"] = key
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers, "body": body, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "bench", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": f"r{i}", "routeKey": "$default", "stage": "$default",
            "time": "30/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": {"sub": user, "email": f"{user}@example.com"},
                                   "scopes": None}},
        },
    }


CREATED = set()  # every id a 201 answered with, across the whole run


class Run:
    """One process of a binary, handed `events`; marks CPU at each `next`."""

    def __init__(self, binary, env, events):
        self.binary = binary
        self.events = list(events)
        self.marks = []  # (wall seconds since spawn, cpu ns) at each `next`
        self.counts = []  # DynamoDB requests so far, at each `next`
        self.statuses = []
        self.created = []  # ids of what each 201 answer created
        self.done = threading.Event()
        run = self

        class Runtime(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                # A fast binary may ask before `Popen` has returned.
                while run.proc is None:
                    time.sleep(0.0005)
                # The previous event is answered and its requests made.
                with ddb_lock:
                    counts = dict(ddb_counts)
                    counts.update({"sqs:" + k.split(".")[-1]: v for k, v in sqs_counts.items()})
                run.marks.append((time.perf_counter() - run.spawned, cpu_ns(run.proc.pid)))
                run.counts.append(counts)
                if not run.events:
                    run.done.set()
                    time.sleep(3600)
                    return
                body = json.dumps(run.events.pop(0)).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", f"req{len(run.marks)}")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:000000000000:function:bench")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(n)
                try:
                    answer = json.loads(raw or b"{}")
                    run.statuses.append(answer.get("statusCode"))
                    if answer.get("statusCode") == 201:
                        run.created.append(json.loads(answer.get("body") or "{}").get("id"))
                except ValueError:
                    run.statuses.append(None)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server, _ = serve(Runtime)
        env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.server.server_address[1]}")
        self.proc = None
        self.spawned = time.perf_counter()
        self.proc = subprocess.Popen([binary], env=env, stdout=open(os.environ["BENCH_LOG"], "a") if os.environ.get("BENCH_LOG") else subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def finish(self, timeout=600):
        # A binary that exits (a setting it refuses, a panic) never asks
        # for its next event: say so now rather than after the timeout.
        deadline = time.monotonic() + timeout
        while not (ok := self.done.wait(0.05)) and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.server.shutdown()
                sys.exit(f"{self.binary} exited ({self.proc.returncode}) after "
                         f"{len(self.statuses)} answers; BENCH_LOG=FILE keeps its log")
        hwm = None
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM"):
                        hwm = int(line.split()[1])  # kB
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        self.server.shutdown()
        if not ok:
            sys.exit(f"timed out after {len(self.statuses)} answers (statuses {self.statuses[-5:]})")
        # A 201 that names an order already seen was a replay of a key
        # (an earlier run's), not a new order: it would price the wrong
        # path (no commit, no queue send).
        again = len(self.created) - len(set(self.created) - CREATED)
        if again:
            sys.exit(f"{again} answers replayed an earlier order (idempotency keys reused)")
        CREATED.update(self.created)
        return hwm


def zip_size(binary):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(binary, "bootstrap")
    return len(buf.getvalue())


def main():
    seed = json.load(open(sys.argv[1]))
    bins = dict(a.split("=", 1) for a in sys.argv[2:])
    _, ddb_url = serve(DynamoProxy)
    _, aws_url = serve(AwsStandIn)
    # Lambda's environment, not this shell's: Lambda sets no SSL_CERT_FILE
    # or SSL_CERT_DIR (this machine's shell sets both, which sends the SDK
    # back to reading the whole certificate directory), no HOME (no
    # ~/.aws profile files) and KHAMSA_FILES_BUCKET only on `messages`.
    # BENCH_HOST_ENV=1 keeps the shell's environment instead.
    if os.environ.get("BENCH_HOST_ENV") == "1":
        base = dict(os.environ)
    else:
        keep = ("PATH", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_EC2_METADATA_DISABLED", "KHAMSA_TABLE")
        base = {k: os.environ[k] for k in keep if k in os.environ}
        base.update(LANG="en_US.UTF-8", TZ=":UTC", AWS_DEFAULT_REGION=os.environ.get("AWS_REGION", "us-east-1"))
    env = dict(base,
               AWS_ENDPOINT_URL_DYNAMODB=ddb_url, AWS_ENDPOINT_URL_SQS=aws_url,
               AWS_ENDPOINT_URL_SECRETS_MANAGER=aws_url,
               AWS_REGION=os.environ.get("AWS_REGION", "us-east-1"),
               KHAMSA_NOTIFICATIONS_QUEUE_URL=f"{aws_url}/000000000000/bench-notifications",
               KHAMSA_TIMERS_QUEUE_URL=f"{aws_url}/000000000000/bench-timers",
               KHAMSA_PAYOUTS_QUEUE_URL=f"{aws_url}/000000000000/bench-payouts",
               PAYPAL_API_BASE="http://127.0.0.1:9", PAYPAL_SECRET_ID="bench",
               PAYPAL_WEBHOOK_ID="bench",
               AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_STREAM_NAME="bench",
               AWS_LAMBDA_LOG_GROUP_NAME="bench")
    svc, orders = seed["service"], list(seed["orders"])
    order_body = json.dumps({"service_id": svc})

    def events_for(name, n, tag):
        name = name.split("@")[0]  # `order@before=PATH`: another build of `order`
        if name == "order":  # POST /orders with a key, as clients send it
            return [event("POST", "/orders", "bench-buyer", order_body, f"{tag}-{i}", i) for i in range(n)]
        if name == "deliver":  # each a placed order of its own
            ids = [orders.pop() for _ in range(n)]
            return [event("POST", f"/orders/{o}/deliver", "bench-seller",
                          json.dumps({"text": "Here it is"}), None, i) for i, o in enumerate(ids)]
        if name == "orders":
            return [event("GET", f"/orders/{orders[i % len(orders)]}", "bench-buyer", None, None, i)
                    for i in range(n)]
        return [event("GET", "/", "bench-buyer", None, None, i) for i in range(n)]

    results = {}
    run_id = uuid.uuid4().hex[:8]
    for name, binary in bins.items():
        inits_cpu, inits_wall, colds_cpu = [], [], []
        for c in range(COLD):
            r = Run(binary, env, events_for(name, 1, f"cold-{name}-{run_id}-{c}"))
            r.finish()
            wall, cpu = r.marks[0]
            inits_cpu.append(cpu / 1e6)
            inits_wall.append(wall * 1e3)
            colds_cpu.append(r.marks[-1][1] / 1e6)
        r = Run(binary, env, events_for(name, WARMUP + WARM, f"warm-{name}-{run_id}"))
        hwm = r.finish()
        before, after = r.counts[WARMUP], r.counts[-1]
        cpu_warm = (r.marks[-1][1] - r.marks[WARMUP][1]) / 1e6 / WARM
        wall_warm = (r.marks[-1][0] - r.marks[WARMUP][0]) * 1e3 / WARM
        per_op = {k: (after.get(k, 0) - before.get(k, 0)) / WARM for k in after
                  if after.get(k, 0) != before.get(k, 0)}
        statuses = {}
        for s in r.statuses[WARMUP:]:
            statuses[s] = statuses.get(s, 0) + 1
        results[name] = {
            "init_cpu_ms": statistics.median(inits_cpu),
            "init_wall_ms": statistics.median(inits_wall),
            "cold_cpu_ms": statistics.median(colds_cpu),
            "cpu_ms": cpu_warm, "wall_ms": wall_warm, "hwm_kib": hwm, "zip": zip_size(binary),
            "ddb": per_op, "statuses": statuses,
        }
        print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)

    floor = results.get("floor")

    def cell(name, key, fmt):
        v = results[name][key]
        if floor and name != "floor" and floor[key]:
            return f"{fmt(v)} ({v / floor[key]:.1f}×)"
        return fmt(v)

    names = list(results)
    print("| figure | " + " | ".join(f"`{n}`" for n in names) + " |")
    print("| --- |" + " --- |" * len(names))
    rows = [
        ("init, CPU (median of %d cold starts)" % COLD, "init_cpu_ms", lambda v: f"{v:.2f} ms"),
        ("init, wall", "init_wall_ms", lambda v: f"{v:.1f} ms"),
        ("cold start, CPU to the first answer (init + 1st event)", "cold_cpu_ms", lambda v: f"{v:.2f} ms"),
        ("CPU per warm event (%d events)" % WARM, "cpu_ms", lambda v: f"{v:.3f} ms"),
        ("wall per warm event", "wall_ms", lambda v: f"{v:.2f} ms"),
        ("peak memory (VmHWM)", "hwm_kib", lambda v: f"{v / 1024:.1f} MiB"),
        ("zip", "zip", lambda v: f"{v / 1e6:.2f} MB"),
    ]
    for label, key, fmt in rows:
        print(f"| {label} | " + " | ".join(cell(n, key, fmt) for n in names) + " |")
    def reqs(n, sqs):
        got = sorted((k, v) for k, v in results[n]["ddb"].items() if k.startswith("sqs:") == sqs)
        return ", ".join(f"{k.removeprefix('sqs:')} {v:g}" for k, v in got) or "0"
    print("| DynamoDB requests per event | " + " | ".join(reqs(n, False) for n in names) + " |")
    print("| SQS requests per event | " + " | ".join(reqs(n, True) for n in names) + " |")
    print("| answers (status: count) | " + " | ".join(
        ", ".join(f"{k}: {v}" for k, v in results[n]["statuses"].items()) for n in names) + " |")


if __name__ == "__main__":
    main()
