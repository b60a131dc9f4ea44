#!/usr/bin/env python3
"""Dependency-fault drill against a real Confab (stdlib only; run as root on a machine whose
PostgreSQL and Redis this script may restart: never in CI, never on shared services).

    scripts/faults/drill.py target/release/confab

1. PostgreSQL restarted under load: a client sends messages continuously while the cluster
   restarts. Requests in flight fail with INTERNAL (never a hang, never SQL in the answer), later
   ones succeed on the same pool, and the database holds exactly the acknowledged messages.
2. Redis stopped: sending keeps working (fan-out and rate limits fall back to this instance),
   /readyz reports "redis": "down"; after Redis is back, "ok" again.
"""
import json, os, subprocess, sys, time, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/confab"
PG = "postgres://postgres@127.0.0.1:5432"
DB = "confab_fault_drill"
PORT = 18642
URL = f"http://127.0.0.1:{PORT}"
PG_VERSION = sorted(os.listdir("/etc/postgresql"))[0]


def gql(query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{URL}/graphql", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def ready():
    try:
        with urllib.request.urlopen(f"{URL}/readyz", timeout=5) as response:
            return json.loads(response.read())
    except Exception as err:  # 503 carries JSON too
        body = getattr(err, "read", lambda: b"{}")()
        return json.loads(body or b"{}")


def psql(sql, db="postgres"):
    subprocess.run(["psql", "-q", f"{PG}/{db}", "-c", sql], check=True)


def start(redis):
    env = dict(os.environ, CONFAB_DATABASE_URL=f"{PG}/{DB}", CONFAB_BIND=f"127.0.0.1:{PORT}",
               RUST_LOG="error", CONFAB_RATE_MESSAGES_PER_10S="1000000")
    if redis:
        env["CONFAB_REDIS_URL"] = "redis://127.0.0.1:6379"
    server = subprocess.Popen([BIN, "serve"], env=env)
    for _ in range(100):
        if ready().get("database") == "ok":
            return server
        time.sleep(0.1)
    raise SystemExit("confab did not start")


def send_loop(token, room, seconds, during=None):
    outcomes, acked, started, fired = {}, [], time.time(), False
    i = 0
    while time.time() - started < seconds:
        if during and not fired and time.time() - started > seconds / 4:
            during()
            fired = True
        try:
            answer = gql("mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
                         {"i": {"roomId": room, "body": f"drill {i}"}}, token)
            if "errors" in answer:
                code = answer["errors"][0].get("extensions", {}).get("code", "?")
                assert "SELECT" not in json.dumps(answer) and "INSERT" not in json.dumps(answer), answer
            else:
                code = "OK"
                acked.append(answer["data"]["sendMessage"]["id"])
        except Exception as err:
            code = type(err).__name__
        outcomes[code] = outcomes.get(code, 0) + 1
        i += 1
    return outcomes, acked


def main():
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB}")
    server = start(redis=True)
    try:
        token = gql('mutation { register(input: { username: "drill", email: "drill@x.io", password: "drill-password" }) { token } }')["data"]["register"]["token"]
        room = gql('mutation { createRoom(input: { name: "drill" }) { id } }', token=token)["data"]["createRoom"]["id"]

        restart = lambda: subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", "restart"], check=True)
        outcomes, acked = send_loop(token, room, 12, during=restart)
        last = send_loop(token, room, 2)[0]
        count = int(subprocess.run(["psql", "-tA", f"{PG}/{DB}", "-c", "SELECT count(*) FROM messages"],
                                   capture_output=True, text=True, check=True).stdout)
        print(f"postgres restart under load: {outcomes}; after: {last}; acknowledged {len(acked)}, stored {count - last.get('OK', 0)}")
        assert set(last) == {"OK"}, "requests after the restart must succeed"
        assert count - last.get("OK", 0) == len(acked), "stored rows must equal acknowledged sends"

        subprocess.run(["redis-cli", "shutdown", "nosave"], check=False)
        time.sleep(1)
        down = ready()
        outcomes, _ = send_loop(token, room, 2)
        print(f"redis down: readyz {down}; sends {outcomes}")
        assert down.get("redis") == "down" and set(outcomes) == {"OK"}
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
                        "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
                        "--logfile", "/var/log/redis/ci.log"], check=True)
        for _ in range(100):
            if ready().get("redis") == "ok":
                break
            time.sleep(0.1)
        print(f"redis back: readyz {ready()}")
        assert ready().get("redis") == "ok"
        print("drill passed")
    finally:
        server.terminate()
        server.wait()
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
