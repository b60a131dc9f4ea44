#!/usr/bin/env python3
"""Soak test for Confab: mixed traffic at a fraction of measured capacity for a long time.

Starts a release `confab serve` on a fresh SQLite file or a fresh PostgreSQL database,
registers users, creates rooms, opens N live graphql-transport-ws sockets subscribed to
`roomEvents`, measures capacity with the mixed workload at full speed, then runs the same
mix open-loop at `--load` (default 0.7) of that rate for `--duration` seconds, plus a
trickle of hostile requests. Every `--interval` seconds it records request counts, p50/p99
per kind, errors by `extensions.code`, the server's RSS, live sockets and deliveries. At the
end it checks that every acknowledged `sendMessage` id is in the database.

Run through run.sh (raises the open-file limit, makes the virtualenv). See docs/soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone

import aiohttp

try:
    import uvloop  # type: ignore
except ImportError:  # pragma: no cover
    uvloop = None

KINDS = ("myRooms", "messages", "send", "upload")
# Share of the mix by request count (hostile requests come on top, at --hostile-rate).
MIX = {"myRooms": 0.30, "messages": 0.30, "send": 0.35, "upload": 0.05}

Q_MY_ROOMS = "query { myRooms(first: 20) { nodes { id name unreadCount lastMessage { id body } } } }"
Q_MESSAGES = (
    "query($r: UUID!) { room(id: $r) { id messages(last: 20) "
    "{ nodes { id body createdAt sender { id username } } } } }"
)
Q_SEND = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }"
Q_UPLOAD = "mutation($file: Upload!) { uploadBlob(file: $file) { id size mimeType } }"
Q_SUB = (
    "subscription($r: UUID!) { roomEvents(roomId: $r) "
    "{ __typename ... on MessageAdded { message { id } } } }"
)

DEEP = 3000
HOSTILE = {
    "deep_list": "{ __typename(x: %s1%s) }" % ("[" * DEEP, "]" * DEEP),
    "self_fragment": "{ ...A } fragment A on Query { %s}" % ("...A " * 1000),
}


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def png(tail: bytes) -> bytes:
    """A PNG header (3x2) followed by `tail`: enough for sniffing and dimensions."""
    b = bytearray(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
    b += (3).to_bytes(4, "big") + (2).to_bytes(4, "big")
    b += bytes([8, 6, 0, 0, 0, 0, 0, 0, 0])
    b += tail
    return bytes(b)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu() -> dict[int, tuple[str, int]]:
    """pid -> (command name, utime + stime ticks) for every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        lp, rp = s.find("("), s.rfind(")")
        fields = s[rp + 2 :].split()
        out[int(d)] = (s[lp + 1 : rp], int(fields[11]) + int(fields[12]))
    return out


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


class Stats:
    """Counters for one window plus running totals."""

    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.count: Counter = Counter()
        self.errors: Counter = Counter()  # (kind, code) -> n
        self.hostile: Counter = Counter()  # (shape, code) -> n
        self.hostile_lat: list[float] = []
        self.deliveries = 0
        self.expected_deliveries = 0
        self.skipped = 0  # open-loop ticks dropped because too many requests were in flight

    def merge_into(self, total: "Stats") -> None:
        for k, v in self.lat.items():
            total.lat[k].extend(v)
        total.count.update(self.count)
        total.errors.update(self.errors)
        total.hostile.update(self.hostile)
        total.hostile_lat.extend(self.hostile_lat)
        total.deliveries += self.deliveries
        total.expected_deliveries += self.expected_deliveries
        total.skipped += self.skipped


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.base = f"http://127.0.0.1:{args.port}"
        self.url = f"{self.base}/graphql"
        self.ws_url = f"ws://127.0.0.1:{args.port}/graphql"
        self.users: list[tuple[str, str]] = []  # (token, id)
        self.rooms: list[str] = []
        self.room_members: dict[str, list[int]] = {}
        self.user_rooms: dict[int, list[str]] = defaultdict(list)
        self.subs_per_room: Counter = Counter()
        self.live_sockets = 0
        self.socket_closes: Counter = Counter()
        self.win = Stats()
        self.total = Stats()
        self.record = False  # count into the windows only while measuring
        self.acked: list[str] = []
        self.stop_sockets = False
        self.inflight = 0
        self.out_lines: list[str] = []
        self.server: subprocess.Popen | None = None
        self.pg_db: str | None = None
        self.tmp = tempfile.mkdtemp(prefix="confab-soak-")
        self.send_seq = 0

    # ---------- output ----------
    def log(self, line: str = "") -> None:
        print(line, flush=True)
        self.out_lines.append(line)

    # ---------- server ----------
    def start_server(self) -> None:
        a = self.a
        env = dict(os.environ)
        if a.backend == "sqlite":
            self.db_path = os.path.join(self.tmp, "soak.db")
            db_url = f"sqlite://{self.db_path}?mode=rwc"
        else:
            self.pg_db = "confab_soak_" + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:6]
            subprocess.run(
                ["psql", a.pg_admin, "-v", "ON_ERROR_STOP=1", "-q", "-c", f'CREATE DATABASE "{self.pg_db}"'],
                check=True,
            )
            db_url = a.pg_admin.rsplit("/", 1)[0] + "/" + self.pg_db if a.pg_admin.count("/") > 2 else a.pg_admin + "/" + self.pg_db
            self.pg_url = db_url
        env.update(
            {
                "CONFAB_DATABASE_URL": db_url,
                "CONFAB_BIND": f"127.0.0.1:{a.port}",
                "CONFAB_BLOB_DIR": os.path.join(self.tmp, "blobs"),
                "CONFAB_RATE_MESSAGES_PER_10S": "100000000",
                "CONFAB_RATE_UPLOADS_PER_MINUTE": "100000000",
                "CONFAB_RATE_REGISTER_PER_MINUTE": "100000000",
                "CONFAB_RATE_LOGIN_PER_MINUTE": "100000000",
                "CONFAB_MAX_SOCKETS_PER_USER": "100000",
                "CONFAB_DB_MAX_CONNECTIONS": str(a.db_connections),
                "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
            }
        )
        self.server_log_path = os.path.join(self.tmp, "server.log")
        self.server_log = open(self.server_log_path, "wb")
        self.server = subprocess.Popen([a.bin, "serve"], env=env, stdout=self.server_log, stderr=subprocess.STDOUT)
        self.log(f"# server pid {self.server.pid}, database {db_url}")

    def stop_server(self) -> None:
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def cleanup(self) -> None:
        self.stop_server()
        if self.pg_db and not self.a.keep_db:
            subprocess.run(
                ["psql", self.a.pg_admin, "-q", "-c", f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)'],
                check=False,
            )
        if not self.a.keep_db:
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def wait_healthy(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"server exited with {self.server.returncode}; log: {self.server_log_path}")
            try:
                async with session.get(self.base + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError("server did not become healthy in 60 s")

    # ---------- requests ----------
    async def gql(self, session, token, query, variables=None):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps({"query": query, "variables": variables or {}})
        async with session.post(self.url, data=body, headers=headers) as r:
            text = await r.read()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, {"errors": [{"extensions": {"code": f"HTTP_{r.status}_NOT_JSON"}}]}

    async def upload(self, session, token, data: bytes):
        form = aiohttp.FormData()
        form.add_field("operations", json.dumps({"query": Q_UPLOAD, "variables": {"file": None}}))
        form.add_field("map", json.dumps({"0": ["variables.file"]}))
        form.add_field("0", data, filename="soak.png", content_type="image/png")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        async with session.post(self.url, data=form, headers=headers) as r:
            text = await r.read()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, {"errors": [{"extensions": {"code": f"HTTP_{r.status}_NOT_JSON"}}]}

    @staticmethod
    def codes(status: int, body) -> list[str]:
        errs = body.get("errors") if isinstance(body, dict) else None
        if errs:
            return [((e.get("extensions") or {}).get("code") or "NO_CODE") for e in errs]
        if status != 200:
            return [f"HTTP_{status}"]
        return []

    async def one(self, session, kind: str) -> None:
        """One request of the mix, timed and counted."""
        ui = random.randrange(len(self.users))
        token = self.users[ui][0]
        rooms = self.user_rooms.get(ui) or self.rooms
        room = random.choice(rooms)
        t0 = time.perf_counter()
        try:
            if kind == "myRooms":
                status, body = await self.gql(session, token, Q_MY_ROOMS)
            elif kind == "messages":
                status, body = await self.gql(session, token, Q_MESSAGES, {"r": room})
            elif kind == "send":
                self.send_seq += 1
                text = f"soak {self.send_seq} {uuid.uuid4().hex[:8]} hello from the soak test"
                status, body = await self.gql(session, token, Q_SEND, {"i": {"roomId": room, "body": text}})
            else:
                status, body = await self.upload(session, token, png(os.urandom(64)))
            codes = self.codes(status, body)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            codes = [f"CLIENT_{type(e).__name__}"]
            body = None
        dt = time.perf_counter() - t0
        if not self.record:
            if kind == "send" and not codes and body:
                self.acked.append(body["data"]["sendMessage"]["id"])
            return
        w = self.win
        w.count[kind] += 1
        w.lat[kind].append(dt)
        for c in codes:
            w.errors[(kind, c)] += 1
        if kind == "send" and not codes and body:
            try:
                self.acked.append(body["data"]["sendMessage"]["id"])
                w.expected_deliveries += self.subs_per_room[room]
            except (KeyError, TypeError):
                w.errors[(kind, "NO_ID_IN_ANSWER")] += 1

    async def hostile_one(self, session) -> None:
        shape = random.choice(["deep_list", "self_fragment", "nul_body"])
        token = random.choice(self.users)[0]
        t0 = time.perf_counter()
        try:
            if shape == "nul_body":
                status, body = await self.gql(
                    session, token, Q_SEND, {"i": {"roomId": random.choice(self.rooms), "body": "nul \u0000 here"}}
                )
            else:
                status, body = await self.gql(session, None, HOSTILE[shape])
            codes = self.codes(status, body) or ["NO_ERROR"]
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            codes = [f"CLIENT_{type(e).__name__}"]
        if self.record:
            self.win.hostile[(shape, codes[0])] += 1
            self.win.hostile_lat.append(time.perf_counter() - t0)

    # ---------- setup ----------
    async def setup(self, session) -> None:
        a = self.a
        sem = asyncio.Semaphore(8)
        stamp = uuid.uuid4().hex[:6]

        async def reg(i: int):
            name = f"soak{stamp}u{i}"
            async with sem:
                status, body = await self.gql(
                    session,
                    None,
                    "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
                    {"input": {"username": name, "email": f"{name}@example.com", "password": f"password-{name}"}},
                )
            if "errors" in body and body["errors"]:
                raise RuntimeError(f"register {name}: {body}")
            return body["data"]["register"]["token"], body["data"]["register"]["user"]["id"]

        t0 = time.monotonic()
        self.users = await asyncio.gather(*(reg(i) for i in range(a.users)))
        self.log(f"# registered {len(self.users)} users in {time.monotonic() - t0:.1f} s")

        # Room r: owner r % users, members: the next `members-1` users (wrapping).
        async def mk(r: int):
            owner = r % a.users
            members = [(owner + k * (a.users // a.members)) % a.users for k in range(1, a.members)]
            members = sorted(set(members) - {owner})
            async with sem:
                status, body = await self.gql(
                    session,
                    self.users[owner][0],
                    "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }",
                    {"input": {"name": f"soak room {r}", "memberIds": [self.users[m][1] for m in members]}},
                )
            if "errors" in body and body["errors"]:
                raise RuntimeError(f"createRoom {r}: {body}")
            rid = body["data"]["createRoom"]["id"]
            return rid, [owner] + members

        t0 = time.monotonic()
        made = await asyncio.gather(*(mk(r) for r in range(a.rooms)))
        for rid, members in made:
            self.rooms.append(rid)
            self.room_members[rid] = members
            for m in members:
                self.user_rooms[m].append(rid)
        self.log(f"# created {len(self.rooms)} rooms of {a.members} members in {time.monotonic() - t0:.1f} s")

    # ---------- sockets ----------
    async def socket_worker(self, session, idx: int, ready: asyncio.Event, opened: list) -> None:
        room = self.rooms[idx % len(self.rooms)]
        members = self.room_members[room]
        user = members[(idx // len(self.rooms)) % len(members)]
        token = self.users[user][0]
        first = True
        while not self.stop_sockets:
            counted = False
            try:
                async with session.ws_connect(
                    self.ws_url, protocols=("graphql-transport-ws",), heartbeat=None, max_msg_size=1 << 20
                ) as ws:
                    await ws.send_str(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
                    msg = await asyncio.wait_for(ws.receive(), 30)
                    if msg.type != aiohttp.WSMsgType.TEXT or json.loads(msg.data).get("type") != "connection_ack":
                        raise RuntimeError(f"no ack: {msg.type} {msg.data!r}")
                    await ws.send_str(
                        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": Q_SUB, "variables": {"r": room}}})
                    )
                    self.live_sockets += 1
                    self.subs_per_room[room] += 1
                    counted = True
                    if first:
                        first = False
                        opened.append(1)
                        if len(opened) >= self.a.sockets:
                            ready.set()
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            m = json.loads(msg.data)
                            t = m.get("type")
                            if t == "next":
                                if self.record:
                                    data = (m.get("payload") or {}).get("data") or {}
                                    ev = data.get("roomEvents") or {}
                                    if ev.get("__typename") == "MessageAdded":
                                        self.win.deliveries += 1
                                if (m.get("payload") or {}).get("errors"):
                                    for e in m["payload"]["errors"]:
                                        self.win.errors[("socket", (e.get("extensions") or {}).get("code") or "NO_CODE")] += 1
                            elif t == "ping":
                                await ws.send_str('{"type":"pong"}')
                            elif t == "error":
                                self.socket_closes["subscription error"] += 1
                                self.win.errors[("socket", "SUBSCRIBE_ERROR")] += 1
                                break
                            elif t == "complete":
                                self.socket_closes["complete"] += 1
                                break
                        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
                    if not self.stop_sockets:
                        self.socket_closes[f"closed {ws.close_code}"] += 1
                        if self.record:
                            self.win.errors[("socket", f"CLOSED_{ws.close_code}")] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, RuntimeError, ValueError) as e:
                if not self.stop_sockets:
                    self.socket_closes[type(e).__name__] += 1
                    if self.record:
                        self.win.errors[("socket", f"CLIENT_{type(e).__name__}")] += 1
            finally:
                if counted:
                    self.live_sockets -= 1
                    self.subs_per_room[room] -= 1
            if not self.stop_sockets:
                await asyncio.sleep(1 + random.random())

    # ---------- load ----------
    async def closed_loop(self, session, seconds: float, workers: int) -> float:
        """Mixed workload at full speed with `workers` concurrent clients; returns req/s."""
        kinds = list(MIX)
        weights = [MIX[k] for k in kinds]
        end = time.monotonic() + seconds
        done = 0

        async def worker():
            nonlocal done
            while time.monotonic() < end:
                await self.one(session, random.choices(kinds, weights)[0])
                done += 1

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return done / (time.monotonic() - t0)

    async def open_loop(self, session, rate: float, seconds: float, on_tick) -> None:
        """The mix at `rate` requests/s (Poisson arrivals), hostile ones at --hostile-rate."""
        kinds = list(MIX)
        weights = [MIX[k] for k in kinds]
        tasks: set[asyncio.Task] = set()
        start = time.monotonic()
        end = start + seconds
        next_req = start
        next_hostile = start + 1.0 / self.a.hostile_rate if self.a.hostile_rate > 0 else float("inf")
        next_tick = start + self.a.interval

        def spawn(coro):
            t = asyncio.ensure_future(coro)
            tasks.add(t)
            t.add_done_callback(tasks.discard)

        while True:
            now = time.monotonic()
            if now >= next_tick:
                on_tick(now - start)
                next_tick += self.a.interval
            if now >= end:
                break
            while next_req <= now:
                if len(tasks) < self.a.max_inflight:
                    spawn(self.one(session, random.choices(kinds, weights)[0]))
                else:
                    self.win.skipped += 1
                next_req += random.expovariate(rate)
            if now >= next_hostile:
                spawn(self.hostile_one(session))
                next_hostile += 1.0 / self.a.hostile_rate
            await asyncio.sleep(max(0.0, min(next_req, next_hostile, next_tick, end) - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    # ---------- reporting ----------
    def header(self) -> None:
        cols = ["t_s", "rss_mib", "socks", "load1", "srv_cpu%", "cli_cpu%", "pg_cpu%"]
        for k in KINDS:
            cols += [f"{k}_n", f"{k}_p50", f"{k}_p99"]
        cols += ["deliv", "deliv_exp", "hostile", "errors", "others_cpu%"]
        self.log("\t".join(cols))

    def window_line(self, t: float) -> None:
        w = self.win
        rss = rss_kib(self.server.pid)
        self.rss_series.append((t, rss))
        srv, cli, pg, others = self.cpu_window()
        row = [f"{t:.0f}", f"{rss / 1024:.1f}", str(self.live_sockets), loadavg().split()[0], srv, cli, pg]
        for k in KINDS:
            row += [str(w.count[k]), f"{pct(w.lat[k], 50) * 1000:.1f}", f"{pct(w.lat[k], 99) * 1000:.1f}"]
        hostile_ok = sum(n for (s, c), n in w.hostile.items() if c == "BAD_USER_INPUT")
        row += [str(w.deliveries), str(w.expected_deliveries), f"{hostile_ok}/{sum(w.hostile.values())}"]
        errs = ",".join(f"{k}:{c}={n}" for (k, c), n in sorted(w.errors.items())) or "-"
        if w.skipped:
            errs += f",skipped={w.skipped}"
        row.append(errs)
        row.append(others)
        self.log("\t".join(row))
        w.merge_into(self.total)
        self.win = Stats()

    def cpu_window(self) -> tuple[str, str, str, str]:
        """CPU use since the last call (100 = one core): server, this client, PostgreSQL, and
        the three busiest other commands (other people's builds and tests on a shared machine)."""
        now = time.monotonic()
        snap = proc_cpu()
        prev, t_prev = getattr(self, "_cpu_prev", (None, None))
        self._cpu_prev = (snap, now)
        if prev is None:
            return "-", "-", "-", "-"
        dt = (now - t_prev) * CLK_TCK
        by_comm: Counter = Counter()
        srv = cli = pg = 0
        me = os.getpid()
        for pid, (comm, ticks) in snap.items():
            d = ticks - prev.get(pid, (comm, 0))[1] if pid in prev else ticks
            if d <= 0:
                continue
            if pid == self.server.pid:
                srv += d
            elif pid == me:
                cli += d
            elif comm.startswith("postgres"):
                pg += d
            else:
                by_comm[comm] += d
        others = ",".join(f"{c}={100 * d / dt:.0f}" for c, d in by_comm.most_common(3)) or "-"
        return f"{100 * srv / dt:.0f}", f"{100 * cli / dt:.0f}", f"{100 * pg / dt:.0f}", others

    # ---------- rows lost ----------
    def db_ids(self) -> set[str]:
        if self.a.backend == "sqlite":
            con = sqlite3.connect(self.db_path)
            try:
                kind = con.execute("select typeof(id) from messages limit 1").fetchone()
                if kind and kind[0] == "blob":
                    rows = con.execute("select id from messages").fetchall()
                    return {str(uuid.UUID(bytes=bytes(r[0]))) for r in rows}
                rows = con.execute("select id from messages").fetchall()
                return {str(uuid.UUID(str(r[0]))) for r in rows}
            finally:
                con.close()
        out = subprocess.run(
            ["psql", self.pg_url, "-At", "-c", "select id::text from messages"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return {line.strip() for line in out.splitlines() if line.strip()}

    # ---------- main ----------
    async def run(self) -> int:
        a = self.a
        self.rss_series: list[tuple[float, int]] = []
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        self.log(f"# Confab soak, backend {a.backend}, started {now_utc()}")
        self.log(f"# args: {vars(a)}")
        self.log(f"# machine: nproc {os.cpu_count()}, {cpu_model()}, load {loadavg()}")
        self.log(f"# binary: {a.bin}, built {datetime.fromtimestamp(os.path.getmtime(a.bin), timezone.utc):%Y-%m-%dT%H:%M:%SZ}; {git_state()}")
        self.start_server()
        timeout = aiohttp.ClientTimeout(total=60)
        conn = aiohttp.TCPConnector(limit=a.max_inflight + 16)
        ws_conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=conn) as session, aiohttp.ClientSession(
            connector=ws_conn
        ) as ws_session:
            await self.wait_healthy(session)
            self.log(f"# server healthy, RSS {rss_kib(self.server.pid) / 1024:.1f} MiB")
            await self.setup(session)

            # Sockets: open them all, ramped, before measuring anything.
            ready = asyncio.Event()
            opened: list = []
            sock_tasks = []
            t0 = time.monotonic()
            for i in range(a.sockets):
                sock_tasks.append(asyncio.ensure_future(self.socket_worker(ws_session, i, ready, opened)))
                if i % 100 == 99:
                    await asyncio.sleep(0.2)
            try:
                await asyncio.wait_for(ready.wait(), 120)
            except asyncio.TimeoutError:
                self.log(f"# WARNING: only {len(opened)} of {a.sockets} sockets opened in 120 s")
            self.log(
                f"# {self.live_sockets} sockets live after {time.monotonic() - t0:.1f} s, "
                f"RSS {rss_kib(self.server.pid) / 1024:.1f} MiB; closes so far {dict(self.socket_closes)}"
            )

            # Capacity: the mix at full speed, closed loop.
            if a.rate:
                capacity = None
                rate = a.rate
                self.log(f"# capacity not measured; fixed rate {rate:.1f} req/s")
            else:
                self.record = True
                capacity = await self.closed_loop(session, a.capacity_seconds, a.capacity_workers)
                cap_stats = self.win
                self.win = Stats()
                self.record = False
                rate = capacity * a.load
                self.log(
                    f"# capacity: {capacity:.1f} req/s over {a.capacity_seconds:.0f} s with {a.capacity_workers} "
                    f"closed-loop clients and {self.live_sockets} sockets; errors {dict(cap_stats.errors)}"
                )
                for k in KINDS:
                    self.log(
                        f"#   {k}: n {cap_stats.count[k]}, p50 {pct(cap_stats.lat[k], 50) * 1000:.1f} ms, "
                        f"p99 {pct(cap_stats.lat[k], 99) * 1000:.1f} ms"
                    )
                self.log(f"# soak rate: {a.load:.0%} of capacity = {rate:.1f} req/s + {a.hostile_rate} hostile/s")
                await asyncio.sleep(3)

            # Soak.
            self.acked_before = len(self.acked)
            self.log(f"# soak for {a.duration:.0f} s from {now_utc()}, a row every {a.interval:.0f} s")
            self.header()
            self.win = Stats()
            self.record = True
            soak_t0 = time.monotonic()
            self.cpu_window()
            await self.open_loop(session, rate, a.duration, self.window_line)
            load_secs = time.monotonic() - soak_t0
            await asyncio.sleep(2)  # let the last deliveries arrive
            self.window_line(time.monotonic() - soak_t0)
            self.record = False
            soak_secs = time.monotonic() - soak_t0
            self.log(f"# soak ended {now_utc()} after {soak_secs:.0f} s")

            self.stop_sockets = True
            for t in sock_tasks:
                t.cancel()
            await asyncio.gather(*sock_tasks, return_exceptions=True)
            # RSS once the load and the sockets are gone: what stays is kept, not in flight.
            await asyncio.sleep(a.idle_seconds)
            self.idle_rss = rss_kib(self.server.pid)

        alive = self.server.poll() is None
        # Rows lost: every acknowledged id must be in the database.
        try:
            ids = self.db_ids()
            lost = [i for i in self.acked if i not in ids]
            lost_text = f"{len(lost)} of {len(self.acked)} acknowledged sends" + (f" e.g. {lost[:3]}" if lost else "")
        except Exception as e:  # noqa: BLE001
            lost = None
            lost_text = f"could not check: {e}"

        T = self.total
        total_req = sum(T.count.values())
        internal = sum(n for (k, c), n in T.errors.items() if c == "INTERNAL")
        hostile_total = sum(T.hostile.values())
        hostile_ok = sum(n for (s, c), n in T.hostile.items() if c == "BAD_USER_INPUT")
        self.log("")
        self.log("## summary")
        self.log(f"backend: {a.backend}")
        self.log(f"soak duration: {soak_secs:.0f} s ({soak_secs / 60:.1f} min)")
        if capacity:
            self.log(f"measured capacity: {capacity:.1f} req/s (mix {MIX})")
        self.log(f"target rate: {rate:.1f} req/s; achieved {total_req / load_secs:.1f} req/s; {total_req} requests")
        self.log(f"open-loop ticks skipped (client at --max-inflight): {T.skipped}")
        for k in KINDS:
            self.log(
                f"{k}: n {T.count[k]}, p50 {pct(T.lat[k], 50) * 1000:.1f} ms, p99 {pct(T.lat[k], 99) * 1000:.1f} ms, "
                f"max {max(T.lat[k], default=float('nan')) * 1000:.1f} ms"
            )
        self.log(f"errors by kind and code: {dict(sorted(T.errors.items())) or 'none'}")
        self.log(f"INTERNAL errors: {internal}")
        self.log(
            f"hostile: {hostile_ok} of {hostile_total} answered BAD_USER_INPUT; by shape and code {dict(sorted(T.hostile.items()))}; "
            f"p99 {pct(T.hostile_lat, 99) * 1000:.1f} ms"
        )
        self.log(f"deliveries: {T.deliveries} received, {T.expected_deliveries} expected (sends x live subscribers of the room)")
        self.log(f"socket closes/reconnects (whole run): {dict(self.socket_closes) or 'none'}")
        self.log(f"rows lost: {lost_text}")
        warm = [r for t, r in self.rss_series if t >= a.warmup]
        if warm:
            w0, w1 = warm[0], self.rss_series[-1][1]
            self.log(
                f"RSS: after warm-up ({a.warmup:.0f} s) {w0 / 1024:.1f} MiB, at end {w1 / 1024:.1f} MiB, "
                f"growth {(w1 - w0) / 1024:+.1f} MiB ({(w1 - w0) / w0:+.1%}); max {max(r for _, r in self.rss_series) / 1024:.1f} MiB"
            )
        else:
            self.log("RSS: run shorter than the warm-up; no growth figure")
        self.log(f"RSS {a.idle_seconds:.0f} s after the load stopped and the sockets closed: {self.idle_rss / 1024:.1f} MiB")
        self.log(f"server alive at end: {alive}")
        try:
            self.server_log.flush()
            with open(self.server_log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            errs = [l for l in lines if " ERROR " in l or "panicked" in l]
            self.log(f"server log (RUST_LOG={os.environ.get('RUST_LOG', 'warn')}): {len(lines)} lines, {len(errs)} ERROR/panic lines")
            for l in errs[:5]:
                self.log(f"  {l[:300]}")
        except OSError:
            pass
        ok = alive and internal == 0 and lost is not None and not lost and hostile_ok == hostile_total
        self.log(f"verdict: {'PASS' if ok else 'FAIL'} (server alive, zero INTERNAL, zero rows lost, every hostile request BAD_USER_INPUT)")

        os.makedirs(a.out_dir, exist_ok=True)
        path = os.path.join(a.out_dir, f"soak-{a.backend}-{stamp}.txt")
        with open(path, "w") as f:
            f.write("\n".join(self.out_lines) + "\n")
        print(f"wrote {path}")
        if not alive or internal:
            print(f"server log: {self.server_log_path}")
        return 0 if ok else 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def git_state() -> str:
    """HEAD and whether the source tree had uncommitted changes (the binary was built from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--short", "--", "src", "entity", "migration", "Cargo.toml", "Cargo.lock"],
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        dirty = [d for d in dirty if d.strip()]
        return f"git HEAD {head}, {len(dirty)} uncommitted source paths now"
    except OSError:
        return "git state unknown"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--bin", default=os.environ.get("CONFAB_BIN", "target/soak/release/confab"))
    p.add_argument("--duration", type=float, default=1800, help="soak seconds (default 1800 = 30 min)")
    p.add_argument("--load", type=float, default=0.7, help="fraction of measured capacity (default 0.7)")
    p.add_argument("--rate", type=float, default=0, help="fixed req/s instead of measuring capacity")
    p.add_argument("--capacity-seconds", type=float, default=30)
    p.add_argument("--capacity-workers", type=int, default=64)
    p.add_argument("--sockets", type=int, default=2000)
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--rooms", type=int, default=100)
    p.add_argument("--members", type=int, default=10, help="members per room")
    p.add_argument("--hostile-rate", type=float, default=1.0, help="hostile requests per second")
    p.add_argument("--interval", type=float, default=30)
    p.add_argument("--warmup", type=float, default=300, help="RSS growth is measured from this second")
    p.add_argument("--max-inflight", type=int, default=512, help="open-loop arrivals past this many in flight are skipped (counted)")
    p.add_argument("--idle-seconds", type=float, default=15, help="wait after the soak before the idle RSS reading")
    p.add_argument("--db-connections", type=int, default=16)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--pg-admin", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--out-dir", default="bench/results")
    p.add_argument("--keep-db", action="store_true")
    a = p.parse_args()
    if not a.port:
        a.port = free_port()
    soak = Soak(a)
    if uvloop is not None:
        uvloop.install()
    try:
        return asyncio.run(soak.run())
    finally:
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main())
