"""The `bao` CLI (2.7.2) drives the whole seal lifecycle of a Raft node.

Outputs are compared with ``reference/openbao-2.7.2/cli-*.json`` (captured from
OpenBao by ``capture_cli_reference.py``) by key set and JSON types.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess

import harness
from harness import assert_same_shape


def cli_ref(ref, name: str) -> dict:
    return ref(f"cli-{name}")


def bao_json(server, *words: str, args=(), ok=(0,)):
    """Run ``bao WORDS -format=json ARGS`` and return (exit_code, parsed stdout)."""
    cp = server.bao(*words, "-format=json", *args)
    assert cp.returncode in ok, (
        f"bao {' '.join(words)} {' '.join(args)}: exit {cp.returncode}\n"
        f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    )
    return cp.returncode, json.loads(cp.stdout)


def test_cli_lifecycle_on_raft(make_server, ref):
    """A fresh Raft node goes through init (5 shares / threshold 3), unseal with
    three shares (progress 1/3, 2/3, then unsealed), seal, and key rotation
    (term 1 -> 2) with the `bao` CLI; every JSON output has OpenBao's key set
    and types, and `bao status` exits 2 exactly when the node is sealed."""
    server = make_server("cli")

    # Uninitialized: status still answers, exit code 2 (sealed).
    code, status = bao_json(server, "status", ok=(2,))
    expected = cli_ref(ref, "status-uninitialized")
    assert code == expected["exit_code"] == 2
    assert_same_shape(status, expected["output"])
    assert (status["initialized"], status["sealed"], status["t"], status["n"]) == (False, True, 0, 0)
    assert status["storage_type"] == "raft"

    # Init.
    _, init = bao_json(server, "operator", "init", args=("-key-shares=5", "-key-threshold=3"))
    assert_same_shape(init, cli_ref(ref, "operator-init-5-3")["output"])
    assert len(init["unseal_keys_b64"]) == 5 and len(init["unseal_keys_hex"]) == 5
    assert len(set(init["unseal_keys_b64"])) == 5, "shares must be distinct"
    assert (init["unseal_shares"], init["unseal_threshold"]) == (5, 3)
    assert init["root_token"]
    for b64, hx in zip(init["unseal_keys_b64"], init["unseal_keys_hex"]):
        assert base64.b64decode(b64).hex() == hx, "hex and base64 forms are the same share"
    keys = init["unseal_keys_b64"]
    server.root_token = init["root_token"]

    code, status = bao_json(server, "status", ok=(2,))
    assert_same_shape(status, cli_ref(ref, "status-sealed")["output"])
    assert (status["initialized"], status["sealed"], status["t"], status["n"]) == (True, True, 3, 5)
    assert status["progress"] == 0 and status["nonce"] == ""

    # Unseal: text output shows the progress; JSON output has the same shape.
    cp = server.bao("operator", "unseal", keys[0])
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"Unseal Progress\s+1/3", cp.stdout), cp.stdout
    assert re.search(r"Sealed\s+true", cp.stdout), cp.stdout

    _, progress2 = bao_json(server, "operator", "unseal", args=(keys[1],))
    assert_same_shape(progress2, cli_ref(ref, "operator-unseal-progress-2")["output"])
    assert (progress2["sealed"], progress2["progress"], progress2["t"]) == (True, 2, 3)
    assert progress2["nonce"], "an unseal attempt in progress has a nonce"

    cp = server.bao("operator", "unseal", keys[2])
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"Sealed\s+false", cp.stdout), cp.stdout
    assert "Unseal Progress" not in cp.stdout, "an unsealed node shows no progress"

    server.wait_active()
    code, status = bao_json(server, "status")
    assert code == 0
    assert_same_shape(status, cli_ref(ref, "status-active")["output"])
    assert status["sealed"] is False and status["is_self"] is True
    assert status["leader_address"] == server.addr

    # Key status and rotation.
    _, ks = bao_json(server, "operator", "key-status")
    assert_same_shape(ks, cli_ref(ref, "operator-key-status")["output"])
    assert ks["term"] == 1

    _, rotated = bao_json(server, "operator", "rotate")
    assert_same_shape(rotated, cli_ref(ref, "operator-rotate")["output"])
    assert rotated["term"] == 2
    _, ks = bao_json(server, "operator", "key-status")
    assert ks["term"] == 2

    _, cfg = bao_json(server, "read", args=("sys/rotate/config",))
    assert_same_shape(cfg, cli_ref(ref, "read-sys-rotate-config")["output"])
    assert cfg["data"] == {"enabled": True, "interval": 0, "max_operations": 3865470566}

    # Seal: status reports sealed again (exit 2), key-status is refused.
    cp = server.bao("operator", "seal")
    assert cp.returncode == 0, cp.stderr
    assert "Success! Vault is sealed." in cp.stdout

    code, status = bao_json(server, "status", ok=(2,))
    assert_same_shape(status, cli_ref(ref, "status-sealed")["output"])
    assert status["sealed"] is True and status["progress"] == 0

    cp = server.bao("operator", "key-status")
    assert cp.returncode == 2, (cp.returncode, cp.stdout, cp.stderr)
    assert "Code: 503" in cp.stderr and "* Vault is sealed" in cp.stderr, cp.stderr

    # The same three shares (in another order) unseal it again; the term survived.
    for k in (keys[4], keys[2], keys[0]):
        cp = server.bao("operator", "unseal", k)
        assert cp.returncode == 0, cp.stderr
    server.wait_active()
    _, ks = bao_json(server, "operator", "key-status")
    assert ks["term"] == 2, "rotation must survive seal/unseal"


def test_cli_status_exit_code_1_when_unreachable(tmp_path):
    """`bao status` exits 1 (error, not 2 'sealed') when nothing listens at BAO_ADDR."""
    port = harness.free_port()
    env = harness.clean_env(tmp_path, BAO_ADDR=f"http://127.0.0.1:{port}")
    cp = subprocess.run(
        [harness.bao_binary(), "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert cp.returncode == 1, (cp.returncode, cp.stdout, cp.stderr)
    assert "connection refused" in cp.stderr, cp.stderr
