"""Response wrapping (`-wrap-ttl`, `bao unwrap`, sys/wrapping/wrap, lookup,
rewrap, expiry) and cubbyhole privacy, with the `bao` CLI and hvac. One Raft
node serves the module.
"""

from __future__ import annotations

import secrets
import time

import hvac.exceptions
import pytest

from harness import (
    api_errors,
    bao_fail,
    bao_json,
    bao_ok,
    check_reference_shape,
    poll_until,
    start_unsealed,
)

INVALID = "wrapping token is not valid or does not exist"


@pytest.fixture(scope="module")
def server(make_module_server):
    server = start_unsealed(make_module_server, "core-wrap")
    bao_ok(server, "secrets", "enable", "-path=kv2", "kv-v2")
    bao_ok(server, "kv", "put", "kv2/w", "a=1", "b=2")
    return server


def wrapping_lookup(server, token: str):
    return server.http("PUT", "/v1/sys/wrapping/lookup", {"token": token},
                       token=server.root_token)


def test_wrapped_kv_get_and_unwrap_cli(server):
    """`bao kv get -wrap-ttl=60` returns only wrap_info (token, ttl 60,
    creation_path kv2/data/w); `bao unwrap TOKEN` returns the KV data once; a
    second unwrap fails with 400 "wrapping token is not valid or does not
    exist"; `bao unwrap` without an argument unwraps the token in BAO_TOKEN."""
    out = bao_json(server, "kv", "get", "-format=json", "-wrap-ttl=60", "kv2/w")
    check_reference_shape("wrap-cli-kv-get", out)
    info = out["wrap_info"]
    assert out["data"] is None
    assert (info["ttl"], info["creation_path"], info["wrapped_accessor"]) == (60, "kv2/data/w", "")

    cp = bao_ok(server, "kv", "get", "-wrap-ttl=60", "kv2/w")
    assert "wrapping_token_creation_path:    kv2/data/w\n" in cp.stdout, cp.stdout
    assert "wrapping_token_ttl:              1m\n" in cp.stdout, cp.stdout

    unwrapped = bao_json(server, "unwrap", "-format=json", info["token"])
    check_reference_shape("wrap-cli-unwrap-kv", unwrapped)
    assert unwrapped["data"]["data"] == {"a": "1", "b": "2"}
    assert unwrapped["data"]["metadata"]["version"] == 1

    cp = bao_fail(server, "unwrap", info["token"])
    assert api_errors(cp.stderr) == (400, [INVALID]), cp.stderr
    assert cp.stderr.startswith("Error unwrapping: Error making API request."), cp.stderr

    info = bao_json(server, "kv", "get", "-format=json", "-wrap-ttl=60", "kv2/w")["wrap_info"]
    own = bao_json(server, "unwrap", "-format=json", token=info["token"])
    assert own["data"]["data"] == {"a": "1", "b": "2"}, "unwrap with the wrapping token itself"
    cp = bao_fail(server, "unwrap", token=info["token"])
    assert api_errors(cp.stderr) == (400, [INVALID]), cp.stderr


def test_wrap_lookup_rewrap_cli(server):
    """sys/wrapping/wrap wraps arbitrary data (the CLI's default wrap TTL is
    5m); sys/wrapping/lookup shows creation path/time/TTL without consuming
    the token; rewrap gives a new token for the same data and invalidates the
    old one; lookup of an unknown token is a 400 with the wrapping error."""
    out = bao_json(server, "write", "-format=json", "-wrap-ttl=2m", "sys/wrapping/wrap",
                   "foo=bar", "n=1")
    check_reference_shape("wrap-cli-wrap", out)
    first = out["wrap_info"]
    assert (first["ttl"], first["creation_path"]) == (120, "sys/wrapping/wrap")

    look = bao_json(server, "write", "-format=json", "sys/wrapping/lookup", f"token={first['token']}")
    check_reference_shape("wrap-cli-lookup", look)
    assert look["data"]["creation_path"] == "sys/wrapping/wrap"
    assert look["data"]["creation_ttl"] == 120
    assert look["data"]["creation_time"] == first["creation_time"]

    rewrapped = bao_json(server, "write", "-format=json", "sys/wrapping/rewrap",
                         f"token={first['token']}")
    check_reference_shape("wrap-cli-rewrap", rewrapped)
    second = rewrapped["wrap_info"]
    assert second["token"] != first["token"] and second["ttl"] == 120
    cp = bao_fail(server, "unwrap", first["token"])
    assert api_errors(cp.stderr) == (400, [INVALID]), "rewrap invalidates the old token"
    data = bao_json(server, "unwrap", "-format=json", second["token"])
    assert data["data"] == {"foo": "bar", "n": "1"}

    cp = bao_ok(server, "write", "sys/wrapping/wrap", "x=y")
    assert "wrapping_token_ttl:              5m\n" in cp.stdout, cp.stdout
    cp = bao_fail(server, "write", "sys/wrapping/lookup", "token=not-a-token")
    assert api_errors(cp.stderr) == (400, [INVALID])


def test_wrapping_hvac(server):
    """hvac's sys.wrap / sys.unwrap round-trip a payload with OpenBao's
    shapes; a wrapped `auth/token/create` carries the new token's accessor in
    wrapped_accessor and unwraps to a working token; a used wrapping token
    makes hvac raise InvalidRequest."""
    client = server.hvac()
    wrapped = client.sys.wrap(payload={"k": "v"}, ttl=60)
    check_reference_shape("wrap-hvac-wrap", wrapped)
    token = wrapped["wrap_info"]["token"]
    unwrapped = client.sys.unwrap(token)
    check_reference_shape("wrap-hvac-unwrap", unwrapped)
    assert unwrapped["data"] == {"k": "v"}
    with pytest.raises(hvac.exceptions.InvalidRequest, match=INVALID):
        client.sys.unwrap(token)

    r = server.http("POST", "/v1/auth/token/create", {"policies": ["default"]},
                    token=server.root_token, headers={"X-Vault-Wrap-TTL": "60s"})
    assert r.status == 200, r
    check_reference_shape("wrap-http-token-create", r.json)
    info = r.json["wrap_info"]
    assert r.json["auth"] is None and info["creation_path"] == "auth/token/create"
    assert info["wrapped_accessor"], "a wrapped token create names the new token's accessor"
    inner = client.sys.unwrap(info["token"])
    assert inner["auth"]["accessor"] == info["wrapped_accessor"]
    new = server.hvac(token=inner["auth"]["client_token"])
    assert new.auth.token.lookup_self()["data"]["policies"] == ["default"]


def test_wrapping_token_dies_at_ttl(server):
    """A wrapping token made with a 2 s TTL can be looked up until then and is
    invalid (lookup and unwrap: 400 "wrapping token is not valid or does not
    exist") no later than one second after its TTL."""
    out = bao_json(server, "write", "-format=json", "-wrap-ttl=2s", "sys/wrapping/wrap", "z=1")
    created = time.monotonic()
    token = out["wrap_info"]["token"]
    assert out["wrap_info"]["ttl"] == 2
    last_ok = None
    while time.monotonic() - created < 5:
        now = time.monotonic()
        r = wrapping_lookup(server, token)
        if r.status != 200:
            break
        last_ok = now
        time.sleep(0.05)
    else:
        pytest.fail("the wrapping token is still valid 5 s after a 2 s TTL")
    dead_after = time.monotonic() - created
    assert (r.status, r.json) == (400, {"errors": [INVALID]}), r
    assert last_ok is not None and last_ok - created < 2.0
    assert dead_after <= 3.0, f"valid until {dead_after:.2f}s after creation (TTL 2s)"
    r = server.http("PUT", "/v1/sys/wrapping/unwrap", {"token": token}, token=server.root_token)
    assert (r.status, r.json) == (400, {"errors": [INVALID]}), r


def raw_keys(server, prefix: str = "") -> list:
    """Every key of the raw storage below ``prefix`` (sys/raw, recursive)."""
    r = server.http("LIST", f"/v1/sys/raw/{prefix}", token=server.root_token)
    if r.status == 404:
        return []
    assert r.status == 200, (prefix, r)
    out = []
    for k in r.json["data"]["keys"]:
        if k.endswith("/"):
            out.extend(raw_keys(server, prefix + k))
        else:
            out.append(prefix + k)
    return out


def test_cubbyhole_private_and_gone_after_revoke(server):
    """A token's cubbyhole is private: another token (even root) reads and
    lists nothing there (404) and writing the same name does not change the
    first token's value; after the owner is revoked its cubbyhole entries are
    deleted from storage (no raw key of them is left within 2 s)."""
    def new_token():
        r = server.http("POST", "/v1/auth/token/create", {"policies": ["default"]},
                        token=server.root_token)
        return r.json["auth"]["client_token"]

    alice, bob = new_token(), new_token()
    name = "cubby-" + secrets.token_hex(6)
    cp = bao_ok(server, "write", f"cubbyhole/{name}", "v=alice", token=alice)
    assert cp.stdout == f"Success! Data written to: cubbyhole/{name}\n"
    got = bao_json(server, "read", "-format=json", f"cubbyhole/{name}", token=alice)
    check_reference_shape("wrap-cli-cubbyhole-read", got)
    assert got["data"] == {"v": "alice"}
    assert bao_json(server, "list", "-format=json", "cubbyhole/", token=alice) == [name]

    for other in (bob, server.root_token):
        cp = bao_fail(server, "read", f"cubbyhole/{name}", token=other)
        assert cp.stderr == f"No value found at cubbyhole/{name}\n", cp.stderr
        r = server.http("LIST", "/v1/cubbyhole/", token=other)
        assert (r.status, r.json) == (404, {"errors": []}), r
    bao_ok(server, "write", f"cubbyhole/{name}", "v=bob", token=bob)
    assert bao_json(server, "read", "-format=json", f"cubbyhole/{name}", token=alice)["data"] == {"v": "alice"}
    assert bao_json(server, "read", "-format=json", f"cubbyhole/{name}", token=bob)["data"] == {"v": "bob"}

    stored = [k for k in raw_keys(server) if k.endswith("/" + name)]
    assert len(stored) == 2, f"one raw entry per token's cubbyhole, got {stored}"
    bao_ok(server, "token", "revoke", alice)

    def alice_gone():
        return len([k for k in raw_keys(server) if k.endswith("/" + name)]) == 1

    poll_until(alice_gone, 2.0, 0.1, "the revoked token's cubbyhole deleted")
    assert bao_json(server, "read", "-format=json", f"cubbyhole/{name}", token=bob)["data"] == {"v": "bob"}
