"""Auto-unseal through a real PKCS#11 module (SoftHSM2) and a real KMS protocol peer (moto):
`bao operator init` returns recovery keys, and after kill -9 the node comes back unsealed
with no unseal call and its data intact. Coffer-only: OpenBao 2.7.2 ships neither seal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.SERVER_KIND != "coffer", reason="OpenBao 2.7.2 has no pkcs11/awskms seal")

REPO = Path(__file__).resolve().parents[2]


def softhsm_token(tmp: Path, label: str) -> dict:
    """A private SoftHSM2 token; returns the variables the server needs."""
    out = subprocess.run(
        ["bash", str(REPO / "softhsm-fixtures" / "new-token.sh"), str(tmp), label],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def start_with_env(server, env: dict):
    """Start `server` with extra environment variables (the HSM's config and PIN)."""
    server.server_env = dict(env)
    server.start()


def wait_unsealed(server, timeout=30.0) -> dict:
    deadline = time.time() + timeout
    status = {}
    while time.time() < deadline:
        status = server.seal_status()
        if status["initialized"] and not status["sealed"]:
            return status
        time.sleep(0.1)
    raise AssertionError(f"still sealed after {timeout}s: {status}\n{server.log_tail()}")


def init_and_write(server) -> tuple[dict, str]:
    cp = server.bao("operator", "init", "-recovery-shares=3", "-recovery-threshold=2", "-format=json", token=None)
    assert cp.returncode == 0, cp.stderr
    init = json.loads(cp.stdout)
    assert len(init["recovery_keys_b64"]) == 3 and init["unseal_keys_b64"] == [], init
    server.root_token = init["root_token"]
    status = wait_unsealed(server)
    assert status["recovery_seal"] is True and status["t"] == 2 and status["n"] == 3, status
    value = "v-auto-" + os.urandom(4).hex()
    r = server.http("PUT", "/v1/sys/raw/auto/value", {"value": value}, token=server.root_token)
    assert r.status == 204, r
    return init, value


def assert_back_unsealed(server, env: dict, value: str, seal_type: str):
    server.kill9()
    start_with_env(server, env)
    status = wait_unsealed(server)  # no unseal call: the provider unseals it
    assert status["type"] == seal_type, status
    r = server.http("GET", "/v1/sys/raw/auto/value", token=server.root_token)
    assert r.status == 200 and r.json["data"]["value"] == value, r


@pytest.mark.parametrize("mechanism", ["CKM_AES_GCM"])
def test_pkcs11_auto_unseal_survives_kill9(make_server, tmp_path, mechanism):
    """With a SoftHSM2 token (each mechanism), init returns recovery keys, the node unseals
    itself, and after kill -9 it comes back unsealed with its data."""
    tok = softhsm_token(tmp_path / "hsm", "coffer-e2e")
    stanza = (
        'seal "pkcs11" {\n'
        f'  lib = "{tok["BAO_HSM_LIB"]}"\n'
        f'  token_label = "{tok["BAO_HSM_TOKEN_LABEL"]}"\n'
        '  key_label = "coffer-root"\n'
        f'  mechanism = "{mechanism}"\n'
        '  generate_key = "true"\n'
        "}\n"
    )
    env = {"SOFTHSM2_CONF": tok["SOFTHSM2_CONF"], "BAO_HSM_PIN": tok["BAO_HSM_PIN"]}
    server = make_server("pkcs11", start=False, top_extra=stanza)
    start_with_env(server, env)
    _, value = init_and_write(server)
    assert_back_unsealed(server, env, value, "pkcs11")


def test_pkcs11_wrong_pin_stays_sealed_and_says_why(make_server, tmp_path):
    """A wrong PIN leaves the node sealed, reports the reason in sys/seal-status, and changes
    nothing in storage; with the right PIN it unseals by itself."""
    tok = softhsm_token(tmp_path / "hsm", "coffer-pin")
    stanza = (
        'seal "pkcs11" {\n'
        f'  lib = "{tok["BAO_HSM_LIB"]}"\n'
        f'  token_label = "{tok["BAO_HSM_TOKEN_LABEL"]}"\n'
        '  key_label = "coffer-root"\n'
        '  generate_key = "true"\n'
        "}\n"
    )
    good = {"SOFTHSM2_CONF": tok["SOFTHSM2_CONF"], "BAO_HSM_PIN": tok["BAO_HSM_PIN"]}
    server = make_server("pin", start=False, top_extra=stanza)
    start_with_env(server, good)
    _, value = init_and_write(server)
    server.stop()
    start_with_env(server, {**good, "BAO_HSM_PIN": "000000"})
    deadline = time.time() + 20
    status = server.seal_status()
    while "auto_unseal_error" not in status and time.time() < deadline:
        time.sleep(0.2)
        status = server.seal_status()
    assert status["sealed"] is True and "auto_unseal_error" in status, status
    assert "000000" not in json.dumps(status)
    server.stop()
    start_with_env(server, good)
    wait_unsealed(server)
    r = server.http("GET", "/v1/sys/raw/auto/value", token=server.root_token)
    assert r.status == 200 and r.json["data"]["value"] == value, r


@pytest.fixture
def moto(tmp_path):
    binary = shutil.which("moto_server")
    assert binary, "moto_server is missing: pip install 'moto[server]' (scripts/install-deps does)"
    port = harness.free_port()
    log = open(tmp_path / "moto.log", "w")
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    import urllib.request

    while time.time() < deadline:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except Exception:
            time.sleep(0.2)
    yield endpoint
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def test_awskms_auto_unseal_survives_kill9(make_server, moto):
    """With moto's KMS, init returns recovery keys, the node unseals itself, and after kill -9
    it comes back unsealed with its data."""
    import boto3

    kms = boto3.client("kms", region_name="us-east-1", endpoint_url=moto,
                       aws_access_key_id="test", aws_secret_access_key="test")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    stanza = (
        'seal "awskms" {\n'
        '  region = "us-east-1"\n'
        '  access_key = "test"\n'
        '  secret_key = "test"\n'
        f'  kms_key_id = "{key_id}"\n'
        f'  endpoint = "{moto}"\n'
        "}\n"
    )
    server = make_server("awskms", start=False, top_extra=stanza)
    start_with_env(server, {})
    _, value = init_and_write(server)
    assert_back_unsealed(server, {}, value, "awskms")
