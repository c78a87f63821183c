"""The token store: `bao token create/lookup/renew/revoke` and hvac's
auth.token calls, token trees (a child dies with its parent, an orphan does
not), TTL expiry and use counts. One Raft node serves the module.
"""

from __future__ import annotations

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

CREATOR = """
path "auth/token/create" {
  capabilities = ["create", "update"]
}
path "auth/token/create-orphan" {
  capabilities = ["create", "update"]
}
"""
#: What a request with a revoked, expired or unknown token gets.
NO_TOKEN = {"errors": ["permission denied"]}


@pytest.fixture(scope="module")
def server(make_module_server):
    server = start_unsealed(make_module_server, "core-tokens")
    path = server.workdir / "creator.hcl"
    path.write_text(CREATOR)
    bao_ok(server, "policy", "write", "creator", str(path))
    return server


def works(server, token: str) -> bool:
    """Whether ``token`` is accepted (lookup-self answers 200); any other
    answer than 200 or the 403 of an unknown token fails the test."""
    r = server.http("GET", "/v1/auth/token/lookup-self", token=token)
    if r.status == 200:
        return True
    assert (r.status, r.json) == (403, NO_TOKEN), r
    return False


def create(server, token: str = "root", **body) -> dict:
    """POST auth/token/create as ``token``; returns the ``auth`` block."""
    tok = server.root_token if token == "root" else token
    r = server.http("POST", "/v1/auth/token/create", body, token=tok)
    assert r.status == 200, r
    return r.json["auth"]


def test_token_cli_create_lookup_renew_revoke(server):
    """`bao token create -policy -ttl` returns OpenBao's auth block (policies
    with default, lease_duration = ttl, renewable, not orphan); `token lookup`
    shows the same token; `token renew -increment` extends it; a periodic
    `-orphan` token renews to its period whatever the increment; after `token
    revoke` the token is refused everywhere and lookup is a 403 "bad token"."""
    out = bao_json(server, "token", "create", "-format=json", "-policy=creator", "-ttl=1h")
    check_reference_shape("token-cli-create", out)
    auth = out["auth"]
    assert auth["policies"] == ["creator", "default"] == auth["token_policies"]
    assert (auth["lease_duration"], auth["renewable"], auth["orphan"]) == (3600, True, False)
    token = auth["client_token"]

    cp = bao_ok(server, "token", "create", "-policy=creator", "-ttl=1h")
    assert "token_duration       1h\n" in cp.stdout, cp.stdout
    assert 'token_policies       ["creator" "default"]' in cp.stdout, cp.stdout

    look = bao_json(server, "token", "lookup", "-format=json", token)
    check_reference_shape("token-cli-lookup", look)
    data = look["data"]
    assert data["id"] == token and data["accessor"] == auth["accessor"]
    assert data["policies"] == ["creator", "default"] and data["orphan"] is False
    assert data["path"] == "auth/token/create" and data["type"] == "service"
    assert 3590 <= data["ttl"] <= 3600 and data["creation_ttl"] == 3600
    assert data["num_uses"] == 0
    self_look = bao_json(server, "token", "lookup", "-format=json", token=token)
    assert self_look["data"]["id"] == token, "lookup without argument is lookup-self"
    by_accessor = bao_json(server, "token", "lookup", "-format=json", "-accessor", auth["accessor"])
    assert by_accessor["data"]["id"] == "", "an accessor lookup does not reveal the token"
    assert by_accessor["data"]["accessor"] == auth["accessor"]

    renewed = bao_json(server, "token", "renew", "-format=json", "-increment=2h", token)
    check_reference_shape("token-cli-renew", renewed)
    assert renewed["auth"]["client_token"] == token
    assert renewed["auth"]["lease_duration"] == 7200

    periodic = bao_json(server, "token", "create", "-format=json", "-policy=default",
                        "-period=30m", "-orphan")["auth"]
    assert (periodic["orphan"], periodic["lease_duration"]) == (True, 1800)
    look = bao_json(server, "token", "lookup", "-format=json", periodic["client_token"])
    assert look["data"]["period"] == 1800 and look["data"]["orphan"] is True
    renewed = bao_json(server, "token", "renew", "-format=json", "-increment=10m",
                       periodic["client_token"])
    assert renewed["auth"]["lease_duration"] == 1800, "a periodic token renews to its period"

    cp = bao_ok(server, "token", "revoke", token)
    assert cp.stdout == "Success! Revoked token (if it existed)\n"
    assert not works(server, token)
    cp = bao_fail(server, "token", "lookup", token)
    assert api_errors(cp.stderr) == (403, ["bad token"]), cp.stderr
    cp = bao_ok(server, "token", "revoke", token)
    assert cp.stdout == "Success! Revoked token (if it existed)\n", "revoking twice is fine"
    cp = bao_fail(server, "token", "lookup", token=token)
    assert api_errors(cp.stderr) == (403, ["permission denied"]), cp.stderr


def test_token_tree_child_dies_orphan_survives(server):
    """A child created by a token is revoked with it (and so is the child's
    child); an orphan created through auth/token/create-orphan survives; a
    non-root token cannot create an orphan through `token create -orphan`;
    `token revoke -mode=orphan` revokes only the parent and keeps its
    children, now orphans."""
    parent = create(server, policies=["creator"])["client_token"]
    child = bao_json(server, "token", "create", "-format=json", "-policy=creator",
                     token=parent)["auth"]
    assert child["orphan"] is False
    grandchild = create(server, child["client_token"], policies=["default"])["client_token"]
    r = server.http("POST", "/v1/auth/token/create-orphan", {"policies": ["default"]}, token=parent)
    assert r.status == 200, r
    orphan = r.json["auth"]
    assert orphan["orphan"] is True

    cp = bao_fail(server, "token", "create", "-orphan", "-policy=default", token=parent)
    assert api_errors(cp.stderr) == (400, ["root or sudo privileges required to create orphan token"])

    bao_ok(server, "token", "revoke", parent)
    assert not works(server, parent)
    assert not works(server, child["client_token"]), "a child dies with its parent"
    assert not works(server, grandchild), "and so does its child"
    assert works(server, orphan["client_token"]), "an orphan survives its creator"

    parent = create(server, policies=["creator"])["client_token"]
    kept = create(server, parent, policies=["default"])["client_token"]
    cp = bao_ok(server, "token", "revoke", "-mode=orphan", parent)
    assert cp.stdout == "Success! Revoked token (if it existed)\n"
    assert not works(server, parent)
    assert works(server, kept), "-mode=orphan keeps the children"
    look = bao_json(server, "token", "lookup", "-format=json", kept)
    assert look["data"]["orphan"] is True


def test_token_ttl_expiry(server):
    """A token created with ttl=2s works until its TTL and is refused (403
    permission denied) no later than one second after it."""
    before = time.monotonic()
    auth = create(server, policies=["default"], ttl="2s")
    created = time.monotonic()  # the server created the token before this
    assert auth["lease_duration"] == 2 and auth["renewable"] is True
    token = auth["client_token"]
    last_ok = None
    while time.monotonic() - before < 5:
        now = time.monotonic()
        if not works(server, token):
            break
        last_ok = now
        time.sleep(0.05)
    else:
        pytest.fail("the token still works 5 s after a 2 s TTL")
    refused_at = time.monotonic() - created
    assert last_ok is not None, "the token never worked"
    assert last_ok - created < 2.0, f"worked {last_ok - created:.2f}s after creation (TTL 2s)"
    assert refused_at <= 3.0, f"refused only {refused_at:.2f}s after creation (TTL 2s)"
    r = server.http("POST", "/v1/auth/token/lookup", {"token": token}, token=server.root_token)
    assert (r.status, r.json) == (403, {"errors": ["bad token"]}), r


def test_token_num_uses(server):
    """A token with num_uses=2 serves exactly two requests (lookup by root
    shows the count going 2 -> 1), then it is refused with 403 and is gone
    from the store within a second (OpenBao revokes a used-up token in the
    background)."""
    token = create(server, policies=["default"], num_uses=2)["client_token"]

    def uses_left():
        r = server.http("POST", "/v1/auth/token/lookup", {"token": token},
                        token=server.root_token)
        return r.json["data"]["num_uses"] if r.status == 200 else r

    assert uses_left() == 2
    r = server.http("PUT", "/v1/cubbyhole/k", {"v": "1"}, token=token)
    assert r.status == 204, r
    assert uses_left() == 1
    r = server.http("GET", "/v1/cubbyhole/k", token=token)
    assert r.status == 200 and r.json["data"] == {"v": "1"}, r
    r = server.http("GET", "/v1/cubbyhole/k", token=token)
    assert (r.status, r.json) == (403, NO_TOKEN), r
    poll_until(lambda: not isinstance(uses_left(), int), 1.0, 0.05, "used-up token revoked")
    left = uses_left()
    assert (left.status, left.json) == (403, {"errors": ["bad token"]}), left


def test_token_hvac(server):
    """hvac's auth.token create/lookup/lookup_self/renew/revoke give OpenBao's
    shapes; a revoked token makes hvac raise Forbidden."""
    client = server.hvac()
    created = client.auth.token.create(policies=["default"], ttl="1h", meta={"who": "hvac"})
    check_reference_shape("token-hvac-create", created)
    token = created["auth"]["client_token"]
    assert created["auth"]["metadata"] == {"who": "hvac"}
    look = client.auth.token.lookup(token)
    check_reference_shape("token-hvac-lookup", look)
    assert look["data"]["meta"] == {"who": "hvac"}
    mine = server.hvac(token=token)
    assert mine.auth.token.lookup_self()["data"]["id"] == token
    renewed = mine.auth.token.renew_self(increment="2h")
    check_reference_shape("token-hvac-renew-self", renewed)
    assert renewed["auth"]["lease_duration"] == 7200
    orphan = client.auth.token.create_orphan(policies=["default"], ttl="10m")
    assert orphan["auth"]["orphan"] is True
    assert client.auth.token.revoke(token).status_code == 204
    with pytest.raises(hvac.exceptions.Forbidden):
        mine.auth.token.lookup_self()
    with pytest.raises(hvac.exceptions.Forbidden, match="bad token"):
        client.auth.token.lookup(token)
