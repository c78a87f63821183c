"""ACL policies: the `bao policy` commands and the decisions a token's policies
make, checked request by request against a KV v1 mount.

Every allowed request must succeed and every other request must be refused
with OpenBao's 403 body ``{"errors": ["1 error occurred:\\n\\t* permission
denied\\n\\n"]}``. One Raft node serves the module.
"""

from __future__ import annotations

import json

import hvac.exceptions
import pytest

from harness import (
    api_errors,
    bao_fail,
    bao_json,
    bao_ok,
    check_reference_shape,
    start_unsealed,
)

DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
#: The same error as the `bao` CLI prints it (see ``api_errors``).
DENIED_CLI = (403, ["1 error occurred:\n\t* permission denied"])

MATRIX_POLICY = """
path "kv1/glob/*" {
  capabilities = ["read", "create", "update", "list"]
}
path "kv1/glob/denied" {
  capabilities = ["deny"]
}
path "kv1/glob/private/*" {
  capabilities = ["deny"]
}
path "kv1/plus/+/cfg" {
  capabilities = ["read"]
}
path "kv1/plus/+/+/deep" {
  capabilities = ["read"]
}
path "kv1/upd/*" {
  capabilities = ["update"]
}
path "kv1/crt/*" {
  capabilities = ["create"]
}
path "kv1/params/allowed" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "color" = ["red", "blue"]
    "size"  = []
  }
}
path "kv1/params/denied" {
  capabilities = ["create", "update"]
  denied_parameters = {
    "secret" = []
    "level"  = ["high"]
  }
}
path "kv1/params/required" {
  capabilities = ["create", "update"]
  required_parameters = ["owner"]
}
"""

MERGE_READ = 'path "kv1/merge/*" {\n  capabilities = ["read"]\n}\n'
MERGE_CREATE = 'path "kv1/merge/*" {\n  capabilities = ["create"]\n}\n'
MERGE_DENY = 'path "kv1/merge/*" {\n  capabilities = ["deny"]\n}\n'


@pytest.fixture(scope="module")
def server(make_module_server):
    server = start_unsealed(make_module_server, "core-policy")
    bao_ok(server, "secrets", "enable", "-path=kv1", "-version=1", "kv")
    return server


def write_policy_file(server, name: str, text: str) -> str:
    path = server.workdir / f"{name}.hcl"
    path.write_text(text)
    return str(path)


def root_put(server, path: str, body: dict) -> None:
    r = server.http("PUT", f"/v1/{path}", body, token=server.root_token)
    assert r.status in (200, 204), (path, r)


def make_token(server, *policies: str, default: bool = False) -> str:
    """A child of the root token with exactly ``policies`` (plus "default" if asked)."""
    r = server.http("POST", "/v1/auth/token/create",
                    {"policies": list(policies), "no_default_policy": not default},
                    token=server.root_token)
    assert r.status == 200, r
    return r.json["auth"]["client_token"]


class Decisions:
    """Collects every wrong decision of a test instead of stopping at the
    first, so one run reports the whole matrix; ``check()`` fails with all."""

    def __init__(self) -> None:
        self.wrong: list = []

    def allowed(self, resp, what: str) -> None:
        if resp.status not in (200, 204):
            self.wrong.append(f"{what}: expected success, got {resp!r}")

    def denied(self, resp, what: str) -> None:
        if (resp.status, resp.json) != (403, DENIED):
            self.wrong.append(f"{what}: expected 403 {DENIED}, got {resp!r}")

    def check(self) -> None:
        assert not self.wrong, "wrong decisions:\n" + "\n".join(self.wrong)


def test_policy_cli_write_read_list_delete(server):
    """`bao policy write` uploads HCL that `policy read` returns verbatim (text
    and JSON), `policy list` shows it (sorted, with default and root), `policy
    delete` removes it (and deleting again still succeeds); root cannot be
    changed or deleted; bad HCL and unknown capabilities are 400s with
    OpenBao's parse messages."""
    text = 'path "kv1/cli/*" {\n  capabilities = ["read", "list"]\n}\n'
    cp = bao_ok(server, "policy", "write", "cli-p", write_policy_file(server, "cli-p", text))
    assert cp.stdout == "Success! Uploaded policy: cli-p\n"

    cp = bao_ok(server, "policy", "read", "cli-p")
    assert cp.stdout == text
    out = bao_json(server, "policy", "read", "-format=json", "cli-p")
    check_reference_shape("policy-cli-read", out)
    assert out == {"policy": text}
    listed = bao_json(server, "policy", "list", "-format=json")
    assert listed == sorted(listed) and {"cli-p", "default", "root"} <= set(listed)
    assert "cli-p\n" in bao_ok(server, "policy", "list").stdout

    cp = bao_fail(server, "policy", "read", "no-such-policy")
    assert cp.stderr == "No policy named: no-such-policy\n", cp.stderr

    cp = bao_ok(server, "policy", "delete", "cli-p")
    assert cp.stdout == "Success! Deleted policy: cli-p\n"
    assert "cli-p" not in bao_json(server, "policy", "list", "-format=json")
    bao_fail(server, "policy", "read", "cli-p")
    cp = bao_ok(server, "policy", "delete", "cli-p")
    assert cp.stdout == "Success! Deleted policy: cli-p\n"

    cp = bao_fail(server, "policy", "delete", "root")
    assert api_errors(cp.stderr) == (400, ['cannot delete "root" policy'])
    cp = bao_fail(server, "policy", "write", "root", write_policy_file(server, "r", text))
    assert api_errors(cp.stderr) == (400, ['cannot update "root" policy'])
    cp = bao_fail(server, "policy", "write", "bad",
                  write_policy_file(server, "bad", 'path "x" { capabilities = ["bogus"] }\n'))
    assert api_errors(cp.stderr) == (
        400, ['failed to parse policy: path "x": path "x": invalid capability "bogus"'])
    cp = bao_fail(server, "policy", "write", "bad",
                  write_policy_file(server, "bad2", 'path "x" { capabilities = \n'))
    assert api_errors(cp.stderr) == (
        400, ["failed to parse policy: At 2:2: object expected closing RBRACE got: EOF"])


def test_policy_hvac(server):
    """hvac's sys.*_acl_policy calls create, read (OpenBao's shape), list and
    delete a policy; reading a missing one raises InvalidPath (404)."""
    client = server.hvac()
    text = 'path "kv1/hv/*" {\n  capabilities = ["read"]\n}\n'
    assert client.sys.create_or_update_acl_policy("hv-p", text).status_code == 204
    read = client.sys.read_acl_policy("hv-p")
    check_reference_shape("policy-hvac-read-acl", read)
    assert (read["data"]["name"], read["data"]["policy"]) == ("hv-p", text)
    listed = client.sys.list_acl_policies()
    check_reference_shape("policy-hvac-list-acl", listed)
    assert "hv-p" in listed["data"]["keys"]
    legacy = client.sys.read_policy("hv-p")
    check_reference_shape("policy-hvac-read-legacy", legacy)
    assert legacy["rules"] == text
    assert client.sys.delete_acl_policy("hv-p").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.read_acl_policy("hv-p")


def test_permission_matrix(server):
    """A token whose policy uses a `*` glob, `+` segment wildcards, deny paths
    and parameter constraints can do exactly what the policy grants: each
    allowed request succeeds, each other one is a 403 permission denied. A
    policy with only `update` cannot create a new KV v1 key, one with only
    `create` cannot overwrite an existing one; `deny` beats a broader glob."""
    bao_ok(server, "policy", "write", "matrix", write_policy_file(server, "matrix", MATRIX_POLICY))
    for path in ("kv1/glob/a", "kv1/glob/denied", "kv1/glob/private/x", "kv1/plus/x/cfg",
                 "kv1/plus/x/y/cfg", "kv1/plus/a/b/deep", "kv1/upd/existing", "kv1/crt/existing",
                 "kv1/other"):
        root_put(server, path, {"v": "seed"})
    token = make_token(server, "matrix")
    decisions = Decisions()
    allowed, denied = decisions.allowed, decisions.denied

    def get(path):
        return server.http("GET", f"/v1/{path}", token=token)

    def put(path, body):
        return server.http("PUT", f"/v1/{path}", body, token=token)

    def lst(path):
        return server.http("LIST", f"/v1/{path}", token=token)

    # `*` glob: everything below the prefix, any depth.
    r = get("kv1/glob/a")
    allowed(r, "read kv1/glob/a")
    assert r.json["data"] == {"v": "seed"}
    allowed(put("kv1/glob/new", {"v": "1"}), "create kv1/glob/new")
    allowed(put("kv1/glob/a", {"v": "2"}), "update kv1/glob/a")
    allowed(put("kv1/glob/deeper/still/x", {"v": "1"}), "create below the glob")
    r = lst("kv1/glob/")
    allowed(r, "list kv1/glob/")
    assert "a" in r.json["data"]["keys"]
    denied(server.http("DELETE", "/v1/kv1/glob/a", token=token), "delete without the capability")
    denied(get("kv1/globx"), "read beside the glob prefix")
    denied(get("kv1/other"), "read outside every path")
    denied(put("kv1/other", {"v": "x"}), "write outside every path")

    # deny: an exact path and a more specific glob beat the broader glob.
    denied(get("kv1/glob/denied"), "read an exact deny path")
    denied(put("kv1/glob/denied", {"v": "x"}), "write an exact deny path")
    denied(get("kv1/glob/private/x"), "read under a deny glob")
    denied(put("kv1/glob/private/new", {"v": "x"}), "create under a deny glob")

    # `+`: exactly one path segment.
    allowed(get("kv1/plus/x/cfg"), "read kv1/plus/x/cfg")
    allowed(get("kv1/plus/a/b/deep"), "read kv1/plus/a/b/deep")
    denied(get("kv1/plus/x/y/cfg"), "+ does not span two segments")
    denied(get("kv1/plus/x/cfg2"), "+ path is not a prefix glob")
    denied(put("kv1/plus/x/cfg", {"v": "x"}), "write on a read-only + path")

    # create vs update (KV v1 decides by whether the key exists).
    allowed(put("kv1/upd/existing", {"v": "2"}), "update an existing key with update")
    denied(put("kv1/upd/new", {"v": "1"}), "create a new key with only update")
    r = server.http("GET", "/v1/kv1/upd/new", token=server.root_token)
    assert r.status == 404, "the refused create wrote nothing"
    allowed(put("kv1/crt/new", {"v": "1"}), "create a new key with create")
    denied(put("kv1/crt/existing", {"v": "2"}), "overwrite an existing key with only create")
    denied(get("kv1/crt/new"), "read with only create")

    # allowed_parameters: only listed keys, only listed values (empty list: any).
    allowed(put("kv1/params/allowed", {"color": "red"}), "allowed value")
    allowed(put("kv1/params/allowed", {"color": "blue", "size": "xl"}), "allowed values")
    denied(put("kv1/params/allowed", {"color": "green"}), "value not allowed")
    denied(put("kv1/params/allowed", {"color": "red", "other": "1"}), "key not allowed")

    # denied_parameters: listed keys refused (any value, or only listed values).
    allowed(put("kv1/params/denied", {"fine": "1"}), "no denied key")
    allowed(put("kv1/params/denied", {"level": "low"}), "denied key with another value")
    denied(put("kv1/params/denied", {"secret": "x"}), "denied key")
    denied(put("kv1/params/denied", {"fine": "1", "level": "high"}), "denied value")

    # required_parameters.
    allowed(put("kv1/params/required", {"owner": "me", "v": "1"}), "required present")
    denied(put("kv1/params/required", {"v": "1"}), "required missing")

    decisions.check()

    # The CLI shows the same refusal.
    cp = bao_fail(server, "read", "kv1/other", token=token)
    assert api_errors(cp.stderr) == DENIED_CLI, cp.stderr
    cp = bao_fail(server, "write", "kv1/upd/brand-new", "v=1", token=token)
    assert api_errors(cp.stderr) == DENIED_CLI, cp.stderr


def test_capabilities_and_policy_merge(server):
    """`bao token capabilities` reports what a policy grants on a path (and
    `deny` where nothing does); a token with several policies gets the union
    of their capabilities on the same path, unless one of them denies it."""
    bao_ok(server, "policy", "write", "m-read", write_policy_file(server, "m-read", MERGE_READ))
    bao_ok(server, "policy", "write", "m-create", write_policy_file(server, "m-create", MERGE_CREATE))
    bao_ok(server, "policy", "write", "m-deny", write_policy_file(server, "m-deny", MERGE_DENY))
    root_put(server, "kv1/merge/seed", {"v": "1"})
    decisions = Decisions()
    allowed, denied = decisions.allowed, decisions.denied

    both = make_token(server, "m-read", "m-create", default=True)
    r = server.http("GET", "/v1/kv1/merge/seed", token=both)
    allowed(r, "read through the m-read policy")
    r = server.http("PUT", "/v1/kv1/merge/new", {"v": "1"}, token=both)
    allowed(r, "create through the m-create policy")

    cp = bao_ok(server, "token", "capabilities", both, "kv1/merge/x")
    assert cp.stdout == "create, read\n", cp.stdout
    out = bao_json(server, "token", "capabilities", "-format=json", both, "kv1/merge/x")
    assert out == ["create", "read"]
    cp = bao_ok(server, "token", "capabilities", both, "kv1/elsewhere")
    assert cp.stdout == "deny\n", cp.stdout

    vetoed = make_token(server, "m-read", "m-deny")
    denied(server.http("GET", "/v1/kv1/merge/seed", token=vetoed), "deny in one policy wins")
    cp = bao_ok(server, "token", "capabilities", vetoed, "kv1/merge/x")
    assert cp.stdout == "deny\n", cp.stdout

    r = server.http("POST", "/v1/sys/capabilities-self", {"paths": ["kv1/merge/x"]}, token=both)
    assert r.status == 200, r
    check_reference_shape("policy-capabilities-self", r.json)
    assert r.json["kv1/merge/x"] == ["create", "read"] == r.json["capabilities"]

    # A policy change applies to existing tokens at once.
    bao_ok(server, "policy", "delete", "m-create")
    r = server.http("PUT", "/v1/kv1/merge/newer", {"v": "1"}, token=both)
    denied(r, "create after its policy was deleted")
    allowed(server.http("GET", "/v1/kv1/merge/seed", token=both), "read still granted")
    decisions.check()


def test_default_policy_and_no_token(server):
    """A token with only the default policy can look itself up and use its
    cubbyhole but not read KV; a request without a token is a 403 "permission
    denied" (not the one-error wrapping)."""
    r = server.http("POST", "/v1/auth/token/create", {"policies": ["default"]},
                    token=server.root_token)
    token = r.json["auth"]["client_token"]
    decisions = Decisions()
    allowed, denied = decisions.allowed, decisions.denied
    r = server.http("GET", "/v1/auth/token/lookup-self", token=token)
    assert r.status == 200 and r.json["data"]["policies"] == ["default"], r
    allowed(server.http("PUT", "/v1/cubbyhole/x", {"a": "b"}, token=token), "own cubbyhole")
    denied(server.http("GET", "/v1/kv1/other", token=token), "KV with default policy")
    decisions.check()
    r = server.http("GET", "/v1/kv1/other")
    assert (r.status, r.json) == (403, {"errors": ["permission denied"]}), r
    client = server.hvac(token=token)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.read("kv1/other")
    assert json.dumps(client.read("cubbyhole/x")["data"]) == '{"a": "b"}'
