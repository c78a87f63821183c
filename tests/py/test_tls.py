"""The TCP listener serves HTTPS with the configured certificate: clients that
trust it (BAO_CACERT, hvac verify=) connect, clients that do not are refused by
certificate verification."""

from __future__ import annotations

import http.client
import json

import hvac
import pytest
import requests

import harness


@pytest.fixture(scope="module")
def tls_server(make_module_server, tmp_path_factory):
    cert, key = harness.make_self_signed_cert(tmp_path_factory.mktemp("cert"))
    server = make_module_server("tls", tls=(cert, key), cacert=cert)
    server.init(1, 1)
    server.unseal()
    server.wait_active()
    return server


def test_bao_status_with_cacert(tls_server):
    """`bao status` over HTTPS with BAO_CACERT set to the server's certificate works."""
    assert tls_server.addr.startswith("https://")
    cp = tls_server.bao("status", "-format=json")
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    status = json.loads(cp.stdout)
    assert status["sealed"] is False and status["initialized"] is True


def test_bao_status_without_cacert_fails_verification(tls_server):
    """Without BAO_CACERT, `bao status` fails (exit 1) on certificate
    verification: the self-signed certificate is not trusted by default."""
    env = tls_server.env()
    del env["BAO_CACERT"]
    cp = tls_server.bao("status", env=env)
    assert cp.returncode == 1, (cp.returncode, cp.stdout, cp.stderr)
    assert "certificate" in cp.stderr, cp.stderr


def test_hvac_over_tls(tls_server):
    """hvac with verify=<cert> talks HTTPS; with default verification it gets an SSL error."""
    assert tls_server.hvac().sys.read_seal_status()["sealed"] is False
    with pytest.raises(requests.exceptions.SSLError):
        hvac.Client(url=tls_server.addr).sys.read_seal_status()


def test_plain_http_to_tls_port_gets_no_api_answer(tls_server):
    """A plain-HTTP request to the HTTPS port never gets an API answer."""
    plain = tls_server.addr.replace("https://", "http://")
    try:
        resp = harness.http_request(plain, "GET", "/v1/sys/seal-status", timeout=5)
    except (OSError, http.client.HTTPException):
        return
    assert resp.status >= 400 and not (resp.json or {}).get("type"), resp
