#!/usr/bin/env python3
"""Three replicas of every service on one PostgreSQL, SIGKILLed at random while work flows.

Run by scripts/chaos-replicas.sh (`just chaos-replicas`), which builds the binaries and starts a
throwaway PostgreSQL (TEST_DATABASE_URL, PG_BIN). This driver (Python 3, stdlib only):

- creates one database per service (the gateway has none), runs each service's `migrate`;
- starts genesys-sim (Genesys Cloud: not killed), a delivery sink standing in for the bank's
  communication-history-manager (not killed; it honours `Idempotency-Key`, as the writer asks, and
  counts every key it is sent again), and 3 replicas of each of interaction-pairing,
  comm-history-writer, genesys-gateway, result-ingest and gdpr-orchestrator, each on its own
  port. Replica i calls replica i of each sibling: calls spread over the replicas without a proxy
  of ours in the way (a proxy would skip the dead replica and hide what a kill does to callers;
  here a caller meets its sibling's death and its queue must retry);
- drives, spread at random over the replicas, with the client's own retries as Genesys and BOFE
  would retry: pairings (BOFE; some before the result, some after it: late pairings through the
  pairing outbox), webhooks (each result sent one to three times: redeliveries of the same
  event), deliveries (the writer's outbox to the sink), and GDPR requests (EXPORT and FORGET of
  subjects of their own, filed by one person and confirmed by another: four eyes, with
  gdpr.grace_hours = 0 so a FORGET is purged at once; and one FORGET confirmed on the last
  orchestrator replica, which alone has gdpr.grace_hours = 1, then undone in its grace window);
- SIGKILLs a random replica every CHAOS_KILL_EVERY seconds and starts it again CHAOS_DOWN
  seconds later on its port, until the GDPR requests are done and the load is sent;
- then waits until the queues drain (the operators' routes /ingest/events, /pairing-outbox,
  /deliveries and /gdpr/queue, every page of each, following nextCursor; the GDPR requests'
  status) and checks:
  every accepted webhook event is exactly one communication record with its pairing's customer;
  every record reached the sink exactly once (one create, at most one update, no key stored
  twice; a GDPR subject's conversation too); every pairing is there; every GDPR request finished
  with each of its steps done once (its audit trail); an EXPORT found its subject's records; a
  FORGET's records and pairings are gone, every copy of its subject's at the sink is reported in
  its toEraseElsewhere, after its confirmation only a copy already in flight (reported) reached
  the sink and after its forget steps nothing did, not even a key sent again; the undone
  FORGET's subject has the same records back, paired, each delivered once.
  CHAOS_INJECT makes faults each of these checks must catch (--help).
Exits non-zero on any difference, printing the figures either way.
"""

import argparse
import datetime
import http.client
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

AGENTS = ["6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b"]
WRAPUPS = ["1ccb1c09-9495-4034-b377-b809f58d17da", "7fb334b0-0e9e-11e4-9191-0800200c9a66"]
SERVICES = ["comm-history-writer", "interaction-pairing", "genesys-gateway", "result-ingest", "gdpr-orchestrator"]
DATABASES = {
    "interaction-pairing": "chaos_pairing",
    "comm-history-writer": "chaos_writer",
    "result-ingest": "chaos_ingest",
    "gdpr-orchestrator": "chaos_gdpr",
}
# Each caller: the services it calls and its scopes there (only scopes the service knows).
CALLERS = {
    "bofe": {"interaction-pairing": "pairing:write,pairing:read", "comm-history-writer": "records:read"},
    "genesys": {"result-ingest": "ingest:webhook"},
    "operator": {
        "result-ingest": "ingest:operate",
        "comm-history-writer": "records:operate",
        "interaction-pairing": "pairing:operate",
        "gdpr-orchestrator": "gdpr:operate",
    },
    "dpo": {"gdpr-orchestrator": "dpo"},
    "result_ingest": {
        "interaction-pairing": "pairing:read",
        "genesys-gateway": "genesys:lookup,genesys:conversations",
        "comm-history-writer": "records:write,records:assign",
    },
    "interaction_pairing": {"comm-history-writer": "records:assign"},
    "gdpr_orchestrator": {s: "gdpr:participant" for s in SERVICES if s != "gdpr-orchestrator"},
}
DELEGATES = {"dpo"}
# CHAOS_INJECT's faults (--help says what each does and which check it must fail).
INJECTIONS = {"late-copy", "unreported-copy", "keep-pairing", "dead-letters", "no-grace"}


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_port(taken):
    """A free port below Linux's ephemeral range (32768 and up), where no client's outgoing
    connection and no other test's server (port 0) can take it while its replica is down."""
    while True:
        port = random.randrange(20000, 32000)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_time(text):
    """An RFC 3339 UTC timestamp as the services serve it, in seconds since the epoch."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Failed(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# HTTP


def request(method, url, token=None, body=None, headers=None, timeout=10):
    """(status, parsed body or None, headers); raises OSError for no answer."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), response.headers
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return error.code, parsed, error.headers


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def get(self, key):
        with self.lock:
            return self.counts.get(key, 0)


STATS = Stats()


def call(urls, method, path, token, body=None, headers=None, ok=(200, 201, 202), deadline_s=120, what="call"):
    """Calls a random replica until one answers with a status in `ok`, as a client with retries
    would (no answer, 5xx, 429: another try, perhaps on another replica). A 4xx is a failure."""
    end = time.monotonic() + deadline_s
    attempt = 0
    while True:
        attempt += 1
        url = random.choice(urls) + path
        try:
            status, parsed, _ = request(method, url, token, body, headers)
            if status in ok:
                if attempt > 1:
                    STATS.add(f"client retries: {what}", attempt - 1)
                return status, parsed
            if status < 500 and status not in (408, 425, 429):
                raise Failed(f"{what}: {method} {url} answered {status}: {parsed}")
        except (OSError, http.client.HTTPException, ValueError):
            # No answer, or half of one: the replica died under the call.
            pass
        if time.monotonic() > end:
            raise Failed(f"{what}: {method} {path} found no replica answering within {deadline_s} s")
        time.sleep(0.1 + random.random() * 0.2)


# ---------------------------------------------------------------------------------------------
# The delivery sink: the bank's communication-history-manager, honouring Idempotency-Key.


class Sink:
    def __init__(self, latency_ms, idempotent, refuse=0):
        self.lock = threading.Lock()
        self.by_key = {}  # key -> {"id", "body"}
        self.arrivals = []  # (time.time(), key, body) of every request, resent ones included
        # How many updates to refuse (422: dead letters; CHAOS_INJECT=dead-letters). Updates: no
        # later entry of their record waits behind them, so the rest drains.
        self.refuse = refuse
        self.resent = 0  # a key sent again (its answer was lost, or its worker died): answered as first
        self.received = 0
        self.answers_lost = 0  # the writer died before the answer reached it
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key")
                if not key:
                    self.answer(400, {"title": "Idempotency-Key missing"})
                    return
                with sink.lock:
                    sink.received += 1
                    sink.arrivals.append((time.time(), key, body))
                    if key not in sink.by_key and sink.refuse > 0 and "supersedes" in body:
                        sink.refuse -= 1
                        refused = True
                    else:
                        refused = False
                if refused:
                    self.answer(422, {"title": "refused by the chaos run (CHAOS_INJECT=dead-letters)"})
                    return
                with sink.lock:
                    if key in sink.by_key:
                        sink.resent += 1
                    if key in sink.by_key and idempotent:
                        answer = sink.by_key[key]["id"]
                    elif key in sink.by_key:
                        # A manager that ignores the key stores it again (the checks must see it).
                        answer = str(uuid.uuid4())
                        sink.by_key[f"{key}#{answer}"] = {"id": answer, "body": body}
                    else:
                        answer = str(uuid.uuid4())
                        sink.by_key[key] = {"id": answer, "body": body}
                # Stored, then answered a little later, as a real manager: a writer killed in
                # between never learns it was delivered and sends it again (same key).
                time.sleep(random.random() * latency_ms / 1000)
                try:
                    self.answer(201, {"id": answer})
                except (BrokenPipeError, ConnectionResetError):
                    with sink.lock:
                        sink.answers_lost += 1
                    self.close_connection = True

            def answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                self.wfile.flush()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/communicationRecords"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stored(self):
        with self.lock:
            return {k: dict(v) for k, v in self.by_key.items()}

    def arrived(self):
        with self.lock:
            return list(self.arrivals)

    def send(self, key, body):
        """A request to the sink as the writer sends one (CHAOS_INJECT: a copy the checks must see)."""
        return request("POST", self.url, body=body, headers={"Idempotency-Key": key})


# ---------------------------------------------------------------------------------------------
# Processes


class Replica:
    def __init__(self, service, index, binary, env, log_path):
        self.service, self.index, self.binary, self.env = service, index, binary, env
        self.port = int(env["APP__APPLICATION__PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process = None
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            with open(self.log_path, "ab") as out:
                self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT)
            remember_pid(os.path.dirname(self.log_path), self.process.pid)

    def kill(self):
        with self.lock:
            if self.process and self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait()
                return True
            return False

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def ready(self):
        try:
            return request("GET", self.url + "/readyz", timeout=2)[0] == 200
        except (OSError, http.client.HTTPException, ValueError):
            return False

    def __str__(self):
        return f"{self.service}#{self.index}"


def remember_pid(work_dir, pid):
    """Every process started, for scripts/chaos-replicas.sh to stop should this driver die."""
    with open(os.path.join(work_dir, "pids"), "a") as f:
        f.write(f"{pid}\n")


def wait_ready(replicas, seconds=90):
    end = time.monotonic() + seconds
    for replica in replicas:
        while not replica.ready():
            if not replica.alive():
                with open(replica.log_path, errors="replace") as f:
                    tail = f.read()[-3000:]
                raise Failed(f"{replica} exited at start:\n{tail}")
            if time.monotonic() > end:
                raise Failed(f"{replica} did not answer /readyz within {seconds} s")
            time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin_dir
        self.work = args.work_dir
        self.database = os.environ["TEST_DATABASE_URL"]
        self.tokens = {name: f"chaos-{name}-{uuid.uuid4().hex}" for name in CALLERS}
        self.replicas = {}
        self.ports = {}
        self.kills = []
        self.outages = []  # services whose every replica was killed at once
        self.stop_chaos = threading.Event()
        self.conversations = {}  # conversation id -> facts
        self.conv_lock = threading.Lock()
        self.gdpr = []  # GDPR requests filed
        # One orchestrator replica confirms with a grace window (gdpr.grace_hours = 1): the FORGET
        # to be undone is confirmed there, every other one where it is 0 (purged at once).
        self.grace_index = args.replicas - 1 if args.undo and args.replicas >= 2 else None
        self.inject = set(filter(None, args.inject.split(",")))
        self.done_injections = set()
        self.most_pages = 0  # the most pages one count of an operator route's entries took

    # -- setup --

    def database_url(self, service):
        parsed = urllib.parse.urlsplit(self.database)
        return urllib.parse.urlunsplit(parsed._replace(path="/" + DATABASES[service]))

    def create_databases(self):
        psql = os.path.join(os.environ["PG_BIN"], "psql")
        for name in DATABASES.values():
            subprocess.run(
                [psql, self.database, "-q", "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {name}"],
                check=True,
                stdout=subprocess.DEVNULL,
            )

    def service_env(self, service, port, index):
        a = self.args
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "APP__APPLICATION__ENVIRONMENT": "development",
            "APP__APPLICATION__PORT": str(port),
            "APP__APPLICATION__SHUTDOWN_TIMEOUT_SECONDS": "2",
            "APP__TELEMETRY__LOG_FILTER": os.environ.get("CHAOS_LOG_FILTER", "warn"),
            "APP__DATABASE__MAX_CONNECTIONS": "6",
            "APP__DATABASE__MIGRATE_ON_START": "false",
        }
        if service in DATABASES:
            env["APP__DATABASE__URL"] = self.database_url(service)
        for caller, where in CALLERS.items():
            if service in where:
                key = caller.upper()
                env[f"APP__AUTH__CALLERS__{key}__TOKEN"] = self.tokens[caller]
                env[f"APP__AUTH__CALLERS__{key}__SCOPES"] = where[service]
                if caller in DELEGATES:
                    env[f"APP__AUTH__CALLERS__{key}__DELEGATES"] = "true"

        def sibling(name):
            return f"http://127.0.0.1:{self.ports[(name, index)]}"

        if service == "interaction-pairing":
            env.update(
                {
                    "APP__PAIRING__COMM_HISTORY_URL": sibling("comm-history-writer"),
                    "APP__PAIRING__INTERNAL_TOKEN": self.tokens["interaction_pairing"],
                    "APP__PAIRING__POLL_INTERVAL_MS": "100",
                    "APP__PAIRING__LEASE_SECONDS": "5",
                    "APP__PAIRING__REQUEST_TIMEOUT_MS": "2000",
                    "APP__PAIRING__BACKOFF_MIN_MS": "100",
                    "APP__PAIRING__BACKOFF_MAX_MS": "1000",
                }
            )
        elif service == "comm-history-writer":
            env.update(
                {
                    "APP__DELIVERY__URL": a.sink_url,
                    "APP__DELIVERY__TIMEOUT_MS": "2000",
                    "APP__DELIVERY__POLL_INTERVAL_MS": "100",
                    "APP__DELIVERY__LEASE_SECONDS": "5",
                    "APP__DELIVERY__BACKOFF_MIN_MS": "100",
                    "APP__DELIVERY__BACKOFF_MAX_MS": "1000",
                }
            )
        elif service == "genesys-gateway":
            env.update(
                {
                    "APP__GENESYS__API_BASE_URL": a.sim_url,
                    "APP__GENESYS__LOGIN_BASE_URL": a.sim_url,
                    "APP__GENESYS__CLIENT_ID": "ccbridge-dev",
                    "APP__GENESYS__CLIENT_SECRET": "ccbridge-dev-secret",
                }
            )
        elif service == "result-ingest":
            env.update(
                {
                    "APP__INGEST__GATEWAY_URL": sibling("genesys-gateway"),
                    "APP__INGEST__PAIRING_URL": sibling("interaction-pairing"),
                    "APP__INGEST__COMM_HISTORY_URL": sibling("comm-history-writer"),
                    "APP__INGEST__INTERNAL_TOKEN": self.tokens["result_ingest"],
                    "APP__INGEST__REQUEST_TIMEOUT_MS": "1000",
                    "APP__INGEST__LEASE_SECONDS": "8",
                    "APP__INGEST__BATCH_SIZE": "32",
                    "APP__INGEST__POLL_INTERVAL_MS": "100",
                    "APP__INGEST__BACKOFF_MIN_MS": "100",
                    "APP__INGEST__BACKOFF_MAX_MS": "1000",
                    "APP__INGEST__MAX_RETRY_AFTER_SECONDS": "2",
                    # The sweep reads Genesys' analytics, where nothing is recorded here.
                    "APP__INGEST__SWEEP_ENABLED": "false",
                }
            )
        elif service == "gdpr-orchestrator":
            env.update(
                {
                    "APP__GDPR__RESULT_INGEST_URL": sibling("result-ingest"),
                    "APP__GDPR__COMM_HISTORY_URL": sibling("comm-history-writer"),
                    "APP__GDPR__PAIRING_URL": sibling("interaction-pairing"),
                    "APP__GDPR__GATEWAY_URL": sibling("genesys-gateway"),
                    "APP__GDPR__INTERNAL_TOKEN": self.tokens["gdpr_orchestrator"],
                    "APP__GDPR__GRACE_HOURS": "1" if index == self.grace_index else "0",
                    # No identity provider here, and only a person it signed in records how a
                    # requester was verified: advisory, as in devstack (the audit says so).
                    "APP__GDPR__REQUESTER_VERIFICATION": "advisory",
                    "APP__GDPR__REQUEST_TIMEOUT_MS": "3000",
                    "APP__GDPR__LEASE_SECONDS": "6",
                    "APP__GDPR__POLL_INTERVAL_MS": "200",
                    "APP__GDPR__BACKOFF_MIN_MS": "200",
                    "APP__GDPR__BACKOFF_MAX_MS": "2000",
                    "APP__GDPR__EXTERNAL_POLL_SECONDS": "1",
                }
            )
        return env

    def start(self):
        self.create_databases()
        # Ports first: replica i of each service is wired to replica i of each sibling.
        taken = set()
        self.ports = {(s, i): service_port(taken) for s in SERVICES for i in range(self.args.replicas)}
        for service in SERVICES:
            self.replicas[service] = [
                Replica(
                    service,
                    index,
                    os.path.join(self.bin, service),
                    self.service_env(service, self.ports[(service, index)], index),
                    os.path.join(self.work, f"{service}-{index}.log"),
                )
                for index in range(self.args.replicas)
            ]
        # Each service's settings, then its migrations (once: the replicas start without).
        for service in SERVICES:
            first = self.replicas[service][0]
            checked = subprocess.run([first.binary, "check-config"], env=first.env, capture_output=True, text=True)
            if checked.returncode != 0:
                raise Failed(f"{service} check-config refused the chaos settings:\n{checked.stdout}{checked.stderr}")
            if service in DATABASES:
                migrated = subprocess.run([first.binary, "migrate"], env=first.env, capture_output=True, text=True)
                if migrated.returncode != 0:
                    raise Failed(f"{service} migrate failed:\n{migrated.stdout}{migrated.stderr}")
        for replica in self.all_replicas():
            replica.start()
        wait_ready(self.all_replicas())
        log(f"{len(self.all_replicas())} replicas ready ({self.args.replicas} of each of {len(SERVICES)} services)")

    def all_replicas(self):
        return [r for s in SERVICES for r in self.replicas[s]]

    def urls(self, service):
        return [r.url for r in self.replicas[service]]

    def confirming_urls(self, grace):
        """The orchestrator replicas that confirm with a grace window (grace) or without."""
        return [r.url for r in self.replicas["gdpr-orchestrator"] if (r.index == self.grace_index) == grace]

    def stop(self):
        for replica in self.all_replicas():
            replica.kill()

    # -- chaos --

    def chaos(self):
        rng = random.Random(self.args.seed + 1)
        rounds = 0
        while not self.stop_chaos.wait(self.args.kill_every * (0.5 + rng.random())):
            rounds += 1
            if self.args.all_every and rounds % self.args.all_every == 0:
                # Now and then a whole service at once: its callers' queues must wait it out.
                service = rng.choice(SERVICES)
                victims = self.replicas[service]
                self.outages.append(service)
            else:
                victims = [rng.choice(self.all_replicas())]
            victims = [v for v in victims if v.kill()]
            self.kills.extend((time.time(), str(v)) for v in victims)
            # Started again even when the chaos ends meanwhile: the drain needs every replica.
            self.stop_chaos.wait(self.args.down)
            for victim in victims:
                victim.start()
            time.sleep(0.3)
            for victim in victims:
                if not victim.alive():
                    # It could not start (its port taken meanwhile?): the end of the run starts
                    # it again and fails, naming it, if it still cannot.
                    log(f"{victim} exited at its restart (see {victim.log_path})")

    # -- load --

    def person(self, rng):
        return {
            "customerId": str(uuid.uuid4()),
            "phone": f"+42060{rng.randrange(10**7):07d}",
        }

    def pair(self, conversation, customer):
        call(
            self.urls("interaction-pairing"),
            "POST",
            "/customers/supportInteraction",
            self.tokens["bofe"],
            {"customerId": customer, "interactionId": conversation},
            ok=(200, 201),
            what="pairing",
        )
        STATS.add("pairings sent")

    def webhook(self, facts):
        body = {
            "conversationId": facts["id"],
            "eventTime": facts["eventTime"],
            "direction": "inbound",
            "mediaType": "voice",
            "ani": f"tel:{facts['phone']}",
            "subject": "",
            "wrapupCode": facts["wrapupCode"],
            "userId": facts["userId"],
        }
        status, answer = call(
            self.urls("result-ingest"),
            "POST",
            "/customers/supportResult",
            self.tokens["genesys"],
            body,
            ok=(200, 202),
            what="webhook",
        )
        STATS.add("webhook deliveries")
        if answer and answer.get("duplicate"):
            STATS.add("webhook answered duplicate")
        event = (answer or {}).get("id")
        if event is None:
            raise Failed(f"the webhook's answer named no event: {answer}")
        with self.conv_lock:
            facts.setdefault("events", set()).add(event)

    def conversation(self, facts, rng):
        if not facts["late"]:
            self.pair(facts["id"], facts["customerId"])
        for _ in range(facts["deliveries"]):
            self.webhook(facts)
        if facts["late"]:
            time.sleep(rng.random() * 2)
            self.pair(facts["id"], facts["customerId"])

    def new_conversation(self, rng, person, gdpr=None):
        now = time.time()
        facts = {
            "id": str(uuid.uuid4()),
            "customerId": person["customerId"],
            "phone": person["phone"],
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
            "userId": rng.choice(AGENTS),
            # Half the codes unknown to Genesys: each a lookup of its own (a 404, the name left
            # null), so batches wait on Genesys while replicas die.
            "wrapupCode": rng.choice(WRAPUPS) if rng.random() < 0.5 else str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "late": gdpr is None and rng.random() < self.args.late_share,
            "deliveries": 1 + (rng.random() < 0.5) + (rng.random() < 0.2),
            "gdpr": gdpr,
        }
        with self.conv_lock:
            self.conversations[facts["id"]] = facts
        return facts

    def records_of(self, **query):
        status, body = call(
            self.urls("comm-history-writer"),
            "GET",
            "/communicationRecords?" + urllib.parse.urlencode({**query, "limit": 100}),
            self.tokens["bofe"],
            ok=(200,),
            what="records",
        )
        return body["items"]

    def gdpr_subject(self, kind, rng):
        """A subject of its own with two conversations; filed once their records exist. kind:
        EXPORT, FORGET, or UNDO (a FORGET confirmed with a grace window, then undone in it)."""
        person = self.person(rng)
        convs = [self.new_conversation(rng, person, gdpr=kind) for _ in range(2)]
        for facts in convs:
            self.conversation(facts, rng)
        end = time.monotonic() + 120
        while len(records := self.records_of(customerId=person["customerId"])) < len(convs):
            if time.monotonic() > end:
                raise Failed(f"a {kind} subject's records were not written within 120 s")
            time.sleep(0.5)
        if kind == "FORGET" and "unreported-copy" in self.inject and not self.injected("unreported-copy"):
            # A copy at the manager no forget will report (as if sent past the outbox): the checks
            # must find it unreported, and its conversation stored twice.
            self.sink.send(f"ccbridge-delivery-{uuid.uuid4()}", {"interactionId": convs[0]["id"], "injected": True})
        subject = {"customerIds": [person["customerId"]], "phoneNumbers": [person["phone"]]}
        status, filed = call(
            self.urls("gdpr-orchestrator"),
            "POST",
            "/gdpr/requests",
            self.tokens["dpo"],
            {"type": "EXPORT" if kind == "EXPORT" else "FORGET", "subject": subject, "reference": "CHAOS-1", "countOnly": False},
            headers={"X-Acting-User": "alice"},
            ok=(200, 201),
            what="gdpr filing",
        )
        request = {
            "id": filed["id"],
            "type": kind,
            "person": person,
            "conversations": [c["id"] for c in convs],
            "records": sorted(r["id"] for r in records),
            "final": "undone" if kind == "UNDO" else "completed",
        }
        if kind in ("FORGET", "UNDO"):
            # Four eyes: another person confirms once it waits for confirmation.
            self.wait_status(request["id"], "awaiting_confirmation")
            call(
                self.confirming_urls(grace=kind == "UNDO" and "no-grace" not in self.inject),
                "POST",
                f"/gdpr/requests/{request['id']}/confirm",
                self.tokens["dpo"],
                headers={"X-Acting-User": "bob"},
                ok=(200,),
                what="gdpr confirmation",
            )
        if kind == "FORGET":
            # When it was first seen completed (polled every 0.5 s): from then on nothing of the
            # subject may reach the sink. (The steps' times are their worker pass's start, before
            # the participant was called: too early a bound.)
            self.wait_status(request["id"], "completed")
            request["seen_completed"] = time.time()
        if kind == "UNDO":
            # Hidden everywhere, then undone within its grace window (one DPO, audited).
            # (CHAOS_INJECT=no-grace: confirmed without one, purged at once, the undo refused.)
            grace = "no-grace" not in self.inject
            self.wait_status(request["id"], "in_grace" if grace else "completed")
            status, undo = call(
                self.urls("gdpr-orchestrator"),
                "POST",
                f"/gdpr/requests/{request['id']}/undo",
                self.tokens["dpo"],
                {"reference": "CHAOS-1"},
                headers={"X-Acting-User": "carol"},
                ok=(200, 201) if grace else (200, 201, 409),
                what="gdpr undo",
            )
            if status != 409:
                request["undo"] = undo["id"]
        with self.conv_lock:
            self.gdpr.append(request)

    def injected(self, what):
        """True once `what` was injected already (each injection is made once)."""
        with self.conv_lock:
            done = what in self.done_injections
            self.done_injections.add(what)
            return done

    def wait_status(self, id_, status, seconds=180):
        end = time.monotonic() + seconds
        while True:
            view = self.gdpr_request(id_)
            if view["status"] == status:
                return view
            if time.monotonic() > end:
                raise Failed(f"GDPR request {id_} never became {status}: {view['status']} ({view.get('statusReason')})")
            time.sleep(0.5)

    def gdpr_expected(self):
        """Every GDPR request filed (the UNDO_FORGETs too) and the status it must end in."""
        with self.conv_lock:
            requests = list(self.gdpr)
        expected = [(r["id"], r["final"]) for r in requests]
        expected += [(r["undo"], "completed") for r in requests if r.get("undo")]
        return expected

    def gdpr_unfinished(self):
        """Requests not yet at rest (CHAOS_INJECT=no-grace: a purged FORGET rests completed)."""
        rest = {"completed", "undone"}
        return [id_ for id_, final in self.gdpr_expected() if self.gdpr_request(id_)["status"] not in rest]

    def gdpr_request(self, id_):
        return call(
            self.urls("gdpr-orchestrator"), "GET", f"/gdpr/requests/{id_}", self.tokens["dpo"], ok=(200,), what="gdpr view"
        )[1]

    def load(self):
        rng = random.Random(self.args.seed)
        people = [self.person(rng) for _ in range(max(1, self.args.conversations // 3))]
        convs = [self.new_conversation(rng, rng.choice(people)) for _ in range(self.args.conversations)]
        kinds = ["EXPORT", "FORGET"] * self.args.gdpr_pairs + (["UNDO"] if self.grace_index is not None else [])
        errors = []
        pace = self.args.conversations / max(1.0, self.args.load_seconds)
        # Conversations at an even pace over load_seconds, as Genesys would send them; the GDPR
        # subjects spread over its first two thirds, so their requests run while replicas die.
        plan = [(n / pace, self.conversation, facts) for n, facts in enumerate(convs)]
        plan += [
            (n * self.args.load_seconds * 2 / 3 / len(kinds), self.gdpr_subject, kind) for n, kind in enumerate(kinds)
        ]
        plan.sort(key=lambda item: item[0])
        with ThreadPoolExecutor(max_workers=self.args.clients) as pool:
            futures = []
            started = time.monotonic()
            for offset, work, what in plan:
                delay = started + offset - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(work, what, random.Random(rng.random())))
            for future in futures:
                try:
                    future.result()
                except Failed as error:
                    errors.append(str(error))
        if errors:
            raise Failed("the load could not be sent:\n" + "\n".join(errors[:10]))
        log(f"load sent: {len(convs)} conversations and {len(kinds)} GDPR subjects in {time.monotonic() - started:.0f} s")

    # -- drain --

    def pending(self):
        """What waits in each queue, from the operators' routes (shared by the replicas: one asked)."""
        waiting = {}
        for name, service, path in [
            ("inbox", "result-ingest", "/ingest/events"),
            ("pairing outbox", "interaction-pairing", "/pairing-outbox"),
            ("deliveries", "comm-history-writer", "/deliveries"),
            ("gdpr queue", "gdpr-orchestrator", "/gdpr/queue"),
        ]:
            for status in ("pending", "dead"):
                waiting[f"{name} {status}"] = self.count_entries(name, service, path, status)
        waiting["gdpr unfinished"] = len(self.gdpr_unfinished())
        return waiting

    def count_entries(self, name, service, path, status):
        """Every entry of one status, page after page (nextCursor) of CHAOS_QUEUE_PAGE entries."""
        count = pages = 0
        cursor = None
        while True:
            query = {"status": status, "limit": self.args.queue_page}
            if cursor is not None:
                query["cursor"] = cursor
            code, page = call(
                self.urls(service),
                "GET",
                f"{path}?{urllib.parse.urlencode(query)}",
                self.tokens["operator"],
                ok=(200,),
                what=f"{name} {status}",
            )
            count += len(page["items"])
            pages += 1
            cursor = page.get("nextCursor")
            if cursor is None:
                self.most_pages = max(self.most_pages, pages)
                return count
            if pages > 10_000:
                raise Failed(f"{path}?status={status}: over 10000 pages (the cursor does not move?)")

    def drain(self):
        end = time.monotonic() + self.args.drain_seconds
        while True:
            waiting = self.pending()
            if all(v == 0 for k, v in waiting.items() if "dead" not in k) and self.records_settled():
                return waiting
            if time.monotonic() > end:
                raise Failed(f"the queues did not drain within {self.args.drain_seconds} s: {waiting}")
            time.sleep(1)

    def records_settled(self):
        """Every result's record is there with its customer (late pairings included)."""
        for facts in list(self.conversations.values()):
            if facts["gdpr"] is not None or facts.get("settled"):
                continue
            records = self.records_of(interactionId=facts["id"])
            if len(records) == 1 and records[0].get("customerId") == facts["customerId"]:
                facts["settled"] = True
            else:
                return False
        return True

    # -- checks --

    def check(self, waiting):
        problems = []
        figures = {}
        normal = [f for f in self.conversations.values() if f["gdpr"] is None]
        events = set()
        for facts in self.conversations.values():
            ids = facts.get("events", set())
            if len(ids) != 1:
                problems.append(f"conversation {facts['id']}: its deliveries were answered with events {sorted(ids)}")
            events |= ids
        figures["webhook events accepted"] = len(events)
        figures["webhook deliveries (redeliveries included)"] = STATS.get("webhook deliveries")
        figures["webhook deliveries answered duplicate"] = STATS.get("webhook answered duplicate")

        # Records: one per event, with its pairing's customer.
        record_ids = {}
        lost = duplicated = pairings = 0
        for facts in normal:
            records = self.records_of(interactionId=facts["id"])
            if not records:
                lost += 1
                problems.append(f"conversation {facts['id']}: no record")
            elif len(records) > 1:
                duplicated += len(records) - 1
                problems.append(f"conversation {facts['id']}: {len(records)} records")
            for record in records:
                record_ids[record["id"]] = facts
                if record.get("customerId") != facts["customerId"]:
                    problems.append(f"record {record['id']}: customer {record.get('customerId')}, not its pairing's")
            # The pairing is there.
            status, pairing = call(
                self.urls("interaction-pairing"),
                "GET",
                f"/customers/supportInteraction/{facts['id']}",
                self.tokens["bofe"],
                ok=(200, 404),
                what="pairing view",
            )
            customers = [c.get("customerId") for c in (pairing or {}).get("customers", [])] if status == 200 else []
            if facts["customerId"] in customers:
                pairings += 1
            else:
                problems.append(f"interaction {facts['id']}: its pairing is missing ({status})")
        figures["records (non-GDPR conversations)"] = len(record_ids)
        figures["pairings present (of them late: after their result)"] = (
            f"{pairings} of {len(normal)} ({sum(1 for f in normal if f['late'])})"
        )
        figures["records lost"] = lost
        figures["records written twice"] = duplicated

        # Deliveries: one create per record, each key stored once, the last body with the customer.
        stored = self.sink_stored()
        by_interaction = {}
        for key, entry in stored.items():
            by_interaction.setdefault(entry["body"].get("interactionId"), []).append(entry["body"])
        creates = updates = 0
        undelivered = twice = 0
        for facts in normal:
            bodies = by_interaction.get(facts["id"], [])
            c = [b for b in bodies if "supersedes" not in b]
            u = [b for b in bodies if "supersedes" in b]
            creates += len(c)
            updates += len(u)
            if not c:
                undelivered += 1
                problems.append(f"conversation {facts['id']}: its record never reached the sink")
            if len(c) > 1 or len(u) > 1:
                twice += max(0, len(c) - 1) + max(0, len(u) - 1)
                problems.append(f"conversation {facts['id']}: {len(c)} creates and {len(u)} updates at the sink")
            if bodies and not any(b.get("customerId") == facts["customerId"] for b in bodies):
                problems.append(f"conversation {facts['id']}: the sink never got its customer")
        for facts in self.conversations.values():
            # A GDPR subject's conversation too: at most one create and one update stored (a
            # FORGET's may have none: held before it went out, then purged).
            bodies = by_interaction.get(facts["id"], []) if facts["gdpr"] is not None else []
            c = [b for b in bodies if "supersedes" not in b]
            u = [b for b in bodies if "supersedes" in b]
            if len(c) > 1 or len(u) > 1:
                twice += max(0, len(c) - 1) + max(0, len(u) - 1)
                problems.append(f"GDPR subject's conversation {facts['id']}: {len(c)} creates and {len(u)} updates at the sink")
        figures["deliveries stored at the sink (creates)"] = creates
        figures["deliveries stored at the sink (updates: a customer paired after its record was written)"] = updates
        figures["deliveries whose answer was lost (the writer died waiting)"] = self.sink.answers_lost
        figures["deliveries sent again with the same key"] = self.sink.resent
        figures["deliveries lost"] = undelivered
        figures["deliveries stored twice"] = twice

        # GDPR: each request finished as it must, each step done once (its audit trail).
        steps_total = repeated = completed = 0
        audited = {}  # a step's audited states (done, failed, pending_external), over all requests
        windows = []
        erasure = {"copies": 0, "reported": 0, "after the confirmation": 0, "after the erasure": 0}
        views = {}
        for id_, final in self.gdpr_expected():
            view = self.gdpr_request(id_)
            views[id_] = view
            if view.get("completedAt"):
                windows.append((parse_time(view["receivedAt"]), parse_time(view["completedAt"])))
            if view["status"] != final:
                problems.append(f"GDPR {view['type']} {id_}: {view['status']}, not {final} ({view.get('statusReason')})")
                continue
            completed += 1
            seen = {}
            for step in view.get("participants", []):
                seen[(step["phase"], step["participant"])] = seen.get((step["phase"], step["participant"]), 0) + 1
                if step["state"] != "done":
                    problems.append(f"GDPR {id_}: step {step['phase']}/{step['participant']} {step['state']}")
                if step["attempts"] > 1:
                    repeated += 1
            status, trail = call(
                self.urls("gdpr-orchestrator"),
                "GET",
                f"/gdpr/requests/{id_}/audit",
                self.tokens["dpo"],
                ok=(200,),
                what="gdpr audit",
            )
            if not trail.get("chainVerified"):
                problems.append(f"GDPR {id_}: its audit chain does not verify")
            done = {}
            for entry in trail["entries"]:
                detail = entry.get("detail") or {}
                if entry["event"] == "step":
                    audited[detail.get("state")] = audited.get(detail.get("state"), 0) + 1
                if entry["event"] == "step" and detail.get("state") == "done":
                    key = (detail.get("phase"), detail.get("participant"))
                    done[key] = done.get(key, 0) + 1
            for key, n in seen.items():
                steps_total += 1
                if n != 1:
                    problems.append(f"GDPR {id_}: step {key} listed {n} times")
                if done.get(key, 0) != 1:
                    problems.append(f"GDPR {id_}: step {key} audited done {done.get(key, 0)} times")
        arrivals = self.sink.arrived()
        for request in self.gdpr:
            view = views[request["id"]]
            counts = view.get("counts", {})
            records_now = self.records_of(customerId=request["person"]["customerId"])
            if request["type"] == "EXPORT":
                if counts.get("export.communications") != len(request["conversations"]):
                    problems.append(f"EXPORT {request['id']}: counts {counts}")
                if "keep-pairing" in self.inject and not self.injected("keep-pairing"):
                    # The pairing check run on a subject not forgotten: it must find the pairing.
                    self.check_pairings_gone(request, problems)
            elif request["type"] == "FORGET":
                if records_now:
                    problems.append(f"FORGET {request['id']}: {len(records_now)} records left after the purge")
                for conversation in request["conversations"]:
                    if self.records_of(interactionId=conversation):
                        problems.append(f"FORGET {request['id']}: conversation {conversation} still has a record")
                self.check_pairings_gone(request, problems)
                if view.get("confirmedAt"):
                    self.check_erased_at_sink(request, view, stored, arrivals, erasure, problems)
            else:
                # Undone in its grace window: the subject's records back, as they were, once each;
                # their pairings back; each delivered once (the checks above: one create each).
                now = sorted(r["id"] for r in records_now)
                if now != request["records"]:
                    problems.append(f"undone FORGET {request['id']}: records {now}, not {request['records']} as before it")
                for record in records_now:
                    if record.get("customerId") != request["person"]["customerId"]:
                        problems.append(f"undone FORGET {request['id']}: record {record['id']} without its customer")
                for conversation in request["conversations"]:
                    if not any("supersedes" not in b for b in by_interaction.get(conversation, [])):
                        problems.append(f"undone FORGET {request['id']}: conversation {conversation} never reached the sink")
                    if self.customers_paired(conversation)[1] != [request["person"]["customerId"]]:
                        problems.append(f"undone FORGET {request['id']}: interaction {conversation} is not paired back")
        figures["GDPR requests (EXPORT, FORGET, FORGET undone in its grace window, UNDO_FORGET)"] = "{}, {}, {}, {}".format(
            sum(1 for r in self.gdpr if r["type"] == "EXPORT"),
            sum(1 for r in self.gdpr if r["type"] == "FORGET"),
            sum(1 for r in self.gdpr if r["type"] == "UNDO"),
            sum(1 for r in self.gdpr if r.get("undo")),
        )
        figures["GDPR requests finished as they must"] = f"{completed} of {len(views)}"
        figures["GDPR steps, each done once"] = steps_total
        figures["GDPR steps attempted more than once (a participant failed, was down, or worked outside)"] = repeated
        figures["GDPR step outcomes audited (done, failed, pending_external)"] = "{}, {}, {}".format(
            audited.get("done", 0), audited.get("failed", 0), audited.get("pending_external", 0)
        )
        figures["forgotten subjects' copies at the manager (reported in toEraseElsewhere)"] = "{} ({})".format(
            erasure["copies"], erasure["reported"]
        )
        figures["requests reaching the manager for a forgotten subject after its confirmation (each reported)"] = erasure[
            "after the confirmation"
        ]
        figures["requests reaching the manager for a forgotten subject after its FORGET completed"] = erasure["after the erasure"]
        figures["SIGKILLs while a GDPR request was under way (of them gdpr-orchestrator)"] = "{} ({})".format(
            sum(1 for at, _ in self.kills if any(a <= at <= b for a, b in windows)),
            sum(1 for at, v in self.kills if v.startswith("gdpr-orchestrator") and any(a <= at <= b for a, b in windows)),
        )
        figures["operator routes read page after page (entries a page; the most pages one count took)"] = (
            f"{self.args.queue_page}; {self.most_pages}"
        )
        figures["dead letters (inbox, pairing outbox, deliveries, GDPR queue)"] = sum(
            v for k, v in waiting.items() if k.endswith(" dead")
        )
        if figures["dead letters (inbox, pairing outbox, deliveries, GDPR queue)"]:
            problems.append(f"dead letters: {waiting}")
        return figures, problems

    def sink_stored(self):
        return self.sink.stored()

    def customers_paired(self, conversation):
        status, pairing = call(
            self.urls("interaction-pairing"),
            "GET",
            f"/customers/supportInteraction/{conversation}",
            self.tokens["bofe"],
            ok=(200, 404),
            what="pairing view",
        )
        return status, [c.get("customerId") for c in (pairing or {}).get("customers", [])] if status == 200 else []

    def check_pairings_gone(self, request, problems):
        """After the purge, none of the subject's interactions is paired with them."""
        for conversation in request["conversations"]:
            status, customers = self.customers_paired(conversation)
            if request["person"]["customerId"] in customers:
                problems.append(f"{request['type']} {request['id']}: interaction {conversation} still paired with its subject")

    def check_erased_at_sink(self, request, view, stored, arrivals, erasure, problems):
        """What reached the manager of a forgotten subject: every copy stored there is reported
        in the FORGET's toEraseElsewhere; after the confirmation only copies it reports arrived
        (in flight then); once it was seen completed, nothing, not even a key sent again: an
        erasure stays erased through retries and deliveries."""
        conversations = set(request["conversations"])
        steps = view.get("participants", [])
        reported = {c["idempotencyKey"] for step in steps for c in step.get("toEraseElsewhere", [])}
        confirmed, forgotten = parse_time(view["confirmedAt"]), request["seen_completed"]
        for key, entry in stored.items():
            if entry["body"].get("interactionId") in conversations:
                erasure["copies"] += 1
                if key.split("#")[0] in reported:
                    erasure["reported"] += 1
                else:
                    problems.append(f"FORGET {request['id']}: a copy at the manager ({key}) not in its toEraseElsewhere")
        for at, key, body in arrivals:
            if body.get("interactionId") not in conversations:
                continue
            if at > forgotten:
                erasure["after the erasure"] += 1
                problems.append(
                    f"FORGET {request['id']}: {key} reached the manager {at - forgotten:.1f} s after the FORGET completed"
                )
            elif at > confirmed:
                erasure["after the confirmation"] += 1
                if key not in reported:
                    problems.append(f"FORGET {request['id']}: {key} reached the manager after the confirmation, unreported")

    def inject_late_copy(self):
        """CHAOS_INJECT=late-copy: one of a forgotten subject's copies sent again, with its key,
        after the forget (a writer that ignored the hold): the checks must see it."""
        forgotten = {c for r in self.gdpr if r["type"] == "FORGET" for c in r["conversations"]}
        for at, key, body in self.sink.arrived():
            if body.get("interactionId") in forgotten:
                self.sink.send(key, body)
                return
        raise Failed("CHAOS_INJECT=late-copy: no forgotten subject's copy reached the sink to send again")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True, help="where the service binaries and genesys-sim are")
    parser.add_argument("--work-dir", required=True, help="logs go here")
    parser.add_argument("--replicas", type=int, default=env_int("CHAOS_REPLICAS", 3))
    parser.add_argument("--conversations", type=int, default=env_int("CHAOS_CONVERSATIONS", 400))
    parser.add_argument("--load-seconds", type=float, default=env_float("CHAOS_LOAD_SECONDS", 60))
    parser.add_argument("--gdpr-pairs", type=int, default=env_int("CHAOS_GDPR_PAIRS", 4), help="EXPORT+FORGET pairs")
    parser.add_argument("--late-share", type=float, default=env_float("CHAOS_LATE_SHARE", 0.3))
    parser.add_argument("--kill-every", type=float, default=env_float("CHAOS_KILL_EVERY", 1.5))
    parser.add_argument("--down", type=float, default=env_float("CHAOS_DOWN", 1))
    parser.add_argument(
        "--all-every",
        type=int,
        default=env_int("CHAOS_ALL_EVERY", 8),
        help="every Nth round kills every replica of one service (0: never)",
    )
    parser.add_argument("--clients", type=int, default=env_int("CHAOS_CLIENTS", 16))
    parser.add_argument("--drain-seconds", type=float, default=env_float("CHAOS_DRAIN_SECONDS", 180))
    parser.add_argument("--seed", type=int, default=env_int("CHAOS_SEED", 29))
    parser.add_argument(
        "--sink-latency-ms", type=int, default=env_int("CHAOS_SINK_LATENCY_MS", 400), help="the manager's answer, up to"
    )
    parser.add_argument(
        "--sink-idempotent",
        type=int,
        default=env_int("CHAOS_SINK_IDEMPOTENT", 1),
        help="0: a manager that ignores Idempotency-Key (a resent delivery is stored twice: the run must fail)",
    )
    parser.add_argument(
        "--queue-page",
        type=int,
        default=env_int("CHAOS_QUEUE_PAGE", 100),
        help="entries a page when the operator routes are counted (every page is read: nextCursor)",
    )
    parser.add_argument(
        "--undo",
        type=int,
        default=env_int("CHAOS_UNDO", 1),
        help="1: one more subject whose FORGET is confirmed on the last orchestrator replica (gdpr.grace_hours = 1) "
        "and undone in its grace window (needs 2 replicas or more)",
    )
    parser.add_argument(
        "--inject",
        default=os.environ.get("CHAOS_INJECT", ""),
        help="faults the checks must catch (the run must fail), comma-separated: late-copy (a forgotten subject's "
        "copy sent again after its forget), unreported-copy (a copy of a FORGET subject's no forget reports), "
        "keep-pairing (the pairing-gone check on an EXPORT subject), dead-letters (the sink refuses 5 updates), "
        "no-grace (the FORGET to undo is confirmed without a grace window: purged, the undo refused)",
    )
    parser.add_argument(
        "--sim-latency-ms", type=int, default=env_int("CHAOS_SIM_LATENCY_MS", 50), help="Genesys' answers (genesys-sim)"
    )
    args = parser.parse_args()
    unknown = set(filter(None, args.inject.split(","))) - INJECTIONS
    if unknown:
        parser.error(f"CHAOS_INJECT/--inject: unknown {sorted(unknown)}; known: {sorted(INJECTIONS)}")
    if "no-grace" in args.inject.split(",") and not (args.undo and args.replicas >= 2):
        parser.error("CHAOS_INJECT=no-grace needs the undone FORGET (CHAOS_UNDO=1, 2 replicas or more)")

    sink = Sink(args.sink_latency_ms, args.sink_idempotent, refuse=5 if "dead-letters" in args.inject.split(",") else 0)
    sim_port = free_port()
    args.sim_url = f"http://127.0.0.1:{sim_port}"
    args.sink_url = sink.url
    run = Run(args)
    run.sink = sink
    sim_log = open(os.path.join(args.work_dir, "genesys-sim.log"), "wb")
    sim = subprocess.Popen(
        [os.path.join(args.bin_dir, "genesys-sim"), "--port", str(sim_port), "--gdpr-step-seconds", "1"],
        stdout=sim_log,
        stderr=subprocess.STDOUT,
    )
    remember_pid(args.work_dir, sim.pid)
    started = time.monotonic()
    chaos = None
    try:
        for _ in range(100):
            try:
                request("GET", args.sim_url + "/admin/calls", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        # Genesys answers slowly: a worker's batch is in flight when its replica is killed.
        request("PUT", args.sim_url + "/admin/faults", body={"latencyMs": args.sim_latency_ms})
        run.start()
        chaos = threading.Thread(target=run.chaos, daemon=True)
        chaos.start()
        load_started = time.monotonic()
        run.load()
        # Keep killing until every GDPR request is through its worker.
        end = time.monotonic() + args.drain_seconds
        while run.gdpr_unfinished():
            if time.monotonic() > end:
                break
            time.sleep(1)
        chaos_seconds = time.monotonic() - load_started
        run.stop_chaos.set()
        chaos.join()
        for replica in run.all_replicas():
            if not replica.alive():
                replica.start()
        wait_ready(run.all_replicas())
        log(f"chaos over after {chaos_seconds:.0f} s: {len(run.kills)} replicas SIGKILLed and started again; draining")
        drain_started = time.monotonic()
        waiting = run.drain()
        if "late-copy" in run.inject:
            run.inject_late_copy()
        drained = time.monotonic() - drain_started
        figures, problems = run.check(waiting)
    except Failed as error:
        print(f"chaos-replicas FAILED: {error}", file=sys.stderr)
        print(f"   logs: {args.work_dir}", file=sys.stderr)
        return 1
    finally:
        run.stop_chaos.set()
        if chaos is not None:
            chaos.join()  # it may be starting a replica: stopped below, not left behind
        run.stop()
        sim.send_signal(signal.SIGKILL)
        sim.wait()
    killed = {}
    for _, victim in run.kills:
        service = victim.split("#")[0]
        killed[service] = killed.get(service, 0) + 1
    print("== chaos-replicas figures")
    print(f"   replicas: {args.replicas} of each of {len(SERVICES)} services on one PostgreSQL ({args.replicas * len(SERVICES)} processes)")
    print(f"   SIGKILLs: {len(run.kills)} ({', '.join(f'{s} {n}' for s, n in sorted(killed.items()))}) over {chaos_seconds:.0f} s")
    print(f"   of them whole services at once (every replica): {', '.join(run.outages) or 'none'}")
    print(f"   drained in {drained:.0f} s after the last kill; whole run {time.monotonic() - started:.0f} s")
    for name, value in figures.items():
        print(f"   {name}: {value}")
    retries = {k: v for k, v in STATS.counts.items() if k.startswith("client retries")}
    print(f"   client retries (no answer from a killed replica, 5xx): {retries}")
    if problems:
        print(f"chaos-replicas FAILED: {len(problems)} problems", file=sys.stderr)
        for problem in problems[:40]:
            print(f"   {problem}", file=sys.stderr)
        print(f"   logs: {args.work_dir}", file=sys.stderr)
        return 1
    print("== chaos-replicas: nothing lost, nothing written or delivered twice, every GDPR step done once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
