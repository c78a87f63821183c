"""Properties of Coffer beyond OpenBao parity: its own CLI drives its server,
nothing secret reaches the log, JSON logs for journald, HTTP/2, and a graceful
drain on SIGTERM. Skipped against OpenBao (they test Coffer's own binary)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.SERVER_KIND != "coffer", reason="tests Coffer's own binary")


def coffer(server, *args, token="root", stdin=None):
    env = server.env(token)
    return subprocess.run(
        [harness.coffer_binary(), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_coffer_cli_drives_the_lifecycle(make_server):
    """`coffer operator init/unseal/key-status/rotate/seal`, `coffer status`,
    `coffer read/write/list/delete` work against a Coffer server on Raft, with
    bao's exit codes (status: 2 when sealed)."""
    s = make_server("cli")
    cp = coffer(s, "operator", "init", "-key-shares=3", "-key-threshold=2", "-format=json", token=None)
    assert cp.returncode == 0, cp.stderr
    init = json.loads(cp.stdout)
    assert len(init["unseal_keys_b64"]) == 3 and init["root_token"].startswith("s.")
    s.root_token = init["root_token"]
    assert coffer(s, "status").returncode == 2
    for key in init["unseal_keys_b64"][:2]:
        cp = coffer(s, "operator", "unseal", key)
        assert cp.returncode == 0, cp.stderr
    cp = coffer(s, "status", "-format=json")
    assert cp.returncode == 0 and json.loads(cp.stdout)["sealed"] is False, cp.stdout
    cp = coffer(s, "operator", "rotate")
    assert cp.returncode == 0, cp.stderr
    cp = coffer(s, "operator", "key-status", "-format=json")
    assert json.loads(cp.stdout)["term"] == 2, cp.stdout
    assert coffer(s, "write", "sys/raw/cli/a", "value=v-one").returncode == 0
    cp = coffer(s, "read", "-field=value", "sys/raw/cli/a")
    assert cp.stdout.strip() == "v-one", cp
    cp = coffer(s, "list", "-format=json", "sys/raw/cli")
    assert json.loads(cp.stdout) == ["a"], cp.stdout
    assert coffer(s, "delete", "sys/raw/cli/a").returncode == 0
    assert coffer(s, "read", "sys/raw/cli/a").returncode == 2
    assert coffer(s, "operator", "seal").returncode == 0
    assert coffer(s, "status").returncode == 2


def test_no_secret_reaches_the_log(make_server):
    """At trace level, after init, unseal, a raw write and a seal, the log holds
    no unseal key (hex or base64), no root token and no secret value."""
    s = make_server("logs", top_extra='log_level = "trace"\n')
    init = s.init(3, 2)
    s.unseal()
    secret = "v-do-not-log-" + "x" * 8
    r = s.http("PUT", "/v1/sys/raw/secret/value", {"value": secret}, token=s.root_token)
    assert r.status == 204, r
    s.http("PUT", "/v1/sys/seal", token=s.root_token)
    s.stop()
    log = s.log_path.read_text()
    assert "unsealed" in log  # the log did record the lifecycle
    for needle in [*init["keys"], *init["keys_base64"], init["root_token"], secret]:
        assert needle not in log, "a secret reached the log"


def test_json_log_format(make_server):
    """`log_format = "json"` writes one JSON object per log line (for journald)."""
    s = make_server("jsonlog", top_extra='log_format = "json"\n')
    s.init()
    s.unseal()
    s.stop()
    lines = [l for l in s.log_path.read_text().splitlines() if l.startswith("{")]
    assert lines, "no JSON log lines"
    records = [json.loads(l) for l in lines]
    assert any(r.get("message") == "unsealed; this node is active" for r in records), records
    assert all("level" in r and "timestamp" in r for r in records)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_http2_prior_knowledge(make_server):
    """The listener speaks HTTP/2 (h2c with prior knowledge) as well as HTTP/1.1."""
    s = make_server("h2")
    cp = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
         f"{s.addr}/v1/sys/seal-status"],
        capture_output=True, text=True, timeout=30,
    )
    assert cp.stdout == "2 200", cp


def test_sigterm_drains_in_flight_requests(make_server):
    """Requests already in flight when SIGTERM arrives complete with 2xx, the
    process exits 0, and the data they wrote is there after restart."""
    s = make_server("drain")
    s.init()
    s.unseal()
    results = []

    def writer(n):
        client = harness.KeepAliveClient(s.addr, s.root_token)
        for i in range(200):
            try:
                r = client.request("PUT", f"/v1/sys/raw/drain/{n}-{i}", {"value": f"v-{i}"})
            except Exception:  # connection closed after the drain: stop writing
                break
            results.append((n, i, r.status))
            if r.status != 204:
                break

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    code = s.stop()
    for t in threads:
        t.join(timeout=30)
    assert code == 0
    acked = [(n, i) for n, i, status in results if status == 204]
    assert acked, "no write was acknowledged before SIGTERM"
    assert all(status in (204, 503) for _, _, status in results), set(r[2] for r in results)
    s.start()
    s.unseal()
    for n, i in acked:
        r = s.http("GET", f"/v1/sys/raw/drain/{n}-{i}", token=s.root_token)
        assert r.status == 200, (n, i, r)
