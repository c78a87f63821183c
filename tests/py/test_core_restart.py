"""The core's state survives a restart of a Raft node: after stop + start +
unseal, KV data, mounts and their tuning, policies, tokens (still valid, their
policies still enforced), userpass users, AppRole roles and cubbyholes are all
there -- after a clean SIGTERM and after a SIGKILL.
"""

from __future__ import annotations

import pytest

from harness import bao_fail, bao_json, bao_ok, start_unsealed

POLICY = """path "kv2/data/app" {
  capabilities = ["read"]
}
path "kv1/*" {
  capabilities = ["read", "list"]
}
"""


@pytest.fixture(scope="module")
def node(make_module_server):
    return start_unsealed(make_module_server, "core-restart")


def restart(node, how: str) -> None:
    if how == "sigterm":
        assert node.stop() == 0, node.log_tail()
    else:
        node.kill9()
    node.start()
    assert node.seal_status()["sealed"] is True, "a restarted node comes back sealed"
    node.unseal()
    node.wait_active()


def write_state(node, tag: str) -> dict:
    """Write one of everything, named by ``tag``; returns what to check later."""
    bao_ok(node, "secrets", "enable", f"-path=kv2-{tag}", "-max-lease-ttl=3h", "kv-v2")
    bao_ok(node, "kv", "put", f"kv2-{tag}/app", f"v={tag}-1")
    bao_ok(node, "kv", "put", f"kv2-{tag}/app", f"v={tag}-2")
    policy = POLICY.replace("kv2/", f"kv2-{tag}/").replace("kv1/", f"kv1-{tag}/")
    path = node.workdir / f"p-{tag}.hcl"
    path.write_text(policy)
    bao_ok(node, "policy", "write", f"p-{tag}", str(path))
    bao_ok(node, "secrets", "enable", f"-path=kv1-{tag}", "-version=1", "kv")
    bao_ok(node, "write", f"kv1-{tag}/x", "v=1")
    token = bao_json(node, "token", "create", "-format=json", f"-policy=p-{tag}", "-ttl=2h")["auth"]
    r = node.http("GET", "/v1/auth/token/lookup-self", token=token["client_token"])
    assert r.status == 200, r
    if "userpass/" not in bao_json(node, "auth", "list", "-format=json"):
        bao_ok(node, "auth", "enable", "userpass")
        bao_ok(node, "auth", "enable", "approle")
    bao_ok(node, "write", f"auth/userpass/users/u-{tag}", f"password=pw-{tag}",
           f"policies=p-{tag}")
    bao_ok(node, "write", f"auth/approle/role/r-{tag}", f"token_policies=p-{tag}")
    role_id = bao_json(node, "read", "-format=json",
                       f"auth/approle/role/r-{tag}/role-id")["data"]["role_id"]
    r = node.http("PUT", f"/v1/auth/approle/role/r-{tag}/secret-id", {}, token=node.root_token)
    assert r.status == 200, r
    secret_id = r.json["data"]["secret_id"]
    r = node.http("PUT", "/v1/cubbyhole/note", {"tag": tag}, token=token["client_token"])
    assert r.status == 204, r
    return {"tag": tag, "policy": policy, "token": token, "role_id": role_id,
            "secret_id": secret_id}


def check_state(node, s: dict) -> None:
    """Everything ``write_state`` wrote is there and behaves as before."""
    tag, token = s["tag"], s["token"]["client_token"]
    got = bao_json(node, "kv", "get", "-format=json", f"kv2-{tag}/app")
    assert got["data"]["data"] == {"v": f"{tag}-2"} and got["data"]["metadata"]["version"] == 2
    old = bao_json(node, "kv", "get", "-format=json", "-version=1", f"kv2-{tag}/app")
    assert old["data"]["data"] == {"v": f"{tag}-1"}, "older versions survive too"
    tune = bao_json(node, "read", "-format=json", f"sys/mounts/kv2-{tag}/tune")
    assert tune["data"]["max_lease_ttl"] == 3 * 3600

    assert bao_ok(node, "policy", "read", f"p-{tag}").stdout == s["policy"]

    look = bao_json(node, "token", "lookup", "-format=json", token)
    assert look["data"]["accessor"] == s["token"]["accessor"]
    assert look["data"]["policies"] == ["default", f"p-{tag}"]
    assert 0 < look["data"]["ttl"] <= 7200
    r = node.http("GET", f"/v1/kv2-{tag}/data/app", token=token)
    assert r.status == 200 and r.json["data"]["data"] == {"v": f"{tag}-2"}, r
    r = node.http("LIST", f"/v1/kv1-{tag}/", token=token)
    assert r.status == 200 and r.json["data"]["keys"] == ["x"], r
    r = node.http("PUT", f"/v1/kv2-{tag}/data/app", {"data": {"v": "no"}}, token=token)
    # (status only: the 403 body is checked in test_core_policy.py)
    assert r.status == 403, ("the policy is still enforced", r)
    r = node.http("GET", "/v1/cubbyhole/note", token=token)
    assert r.status == 200 and r.json["data"] == {"tag": tag}, r

    r = node.http("PUT", f"/v1/auth/userpass/login/u-{tag}", {"password": f"pw-{tag}"})
    assert r.status == 200, r
    assert r.json["auth"]["policies"] == ["default", f"p-{tag}"]
    r = node.http("PUT", f"/v1/auth/userpass/login/u-{tag}", {"password": "wrong"})
    assert (r.status, r.json) == (400, {"errors": ["invalid username or password"]}), r
    r = node.http("PUT", "/v1/auth/approle/login",
                  {"role_id": s["role_id"], "secret_id": s["secret_id"]})
    assert r.status == 200 and r.json["auth"]["policies"] == ["default", f"p-{tag}"], r


def test_core_state_survives_restarts(node):
    """State written before a SIGTERM restart is intact after it; state
    written before a later SIGKILL restart is intact too, together with the
    first; a token revoked before a restart stays revoked after it."""
    first = write_state(node, "a")
    revoked = bao_json(node, "token", "create", "-format=json", "-policy=default")["auth"]
    bao_ok(node, "token", "revoke", revoked["client_token"])
    check_state(node, first)

    restart(node, "sigterm")
    check_state(node, first)
    r = node.http("GET", "/v1/auth/token/lookup-self", token=revoked["client_token"])
    assert (r.status, r.json) == (403, {"errors": ["permission denied"]}), r

    second = write_state(node, "b")
    restart(node, "kill9")
    check_state(node, first)
    check_state(node, second)
    r = node.http("GET", "/v1/auth/token/lookup-self", token=revoked["client_token"])
    assert r.status == 403, r
    r = node.http("GET", "/v1/sys/policy", token=node.root_token)
    assert r.status == 200 and {"p-a", "p-b", "default", "root"} <= set(r.json["data"]["keys"]), r
    cp = bao_fail(node, "kv", "get", "kv2-a/missing")
    assert cp.stderr == "No value found at kv2-a/data/missing\n"
