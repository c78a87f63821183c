"""Auth methods (userpass, AppRole) and the leases of the tokens they issue,
driven by `bao auth enable`, `bao login`, `bao write auth/approle/login`,
`bao lease lookup/renew/revoke` and by hvac. One Raft node serves the module.

OpenBao gives every login token a lease ``auth/<mount>/login/<name>/h<hash>``
(listed under ``sys/leases/lookup/auth/<mount>/login/<name>/``): `lease
lookup` describes it, `lease renew` refuses it (tokens renew through
auth/token/renew), `lease revoke` revokes the token.
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
    poll_until,
    start_unsealed,
)

READER = 'path "kv1/*" {\n  capabilities = ["read"]\n}\n'


@pytest.fixture(scope="module")
def server(make_module_server):
    server = start_unsealed(make_module_server, "core-auth")
    path = server.workdir / "reader.hcl"
    path.write_text(READER)
    bao_ok(server, "policy", "write", "reader", str(path))
    bao_ok(server, "secrets", "enable", "-path=kv1", "-version=1", "kv")
    bao_ok(server, "write", "kv1/app", "v=secret")
    return server


def login_userpass(server, user: str, password: str) -> dict:
    r = server.http("PUT", f"/v1/auth/userpass/login/{user}", {"password": password})
    assert r.status == 200, r
    return r.json["auth"]


def test_userpass_cli(server):
    """`bao auth enable userpass` mounts it (a second enable is a 400 "path is
    already in use"); a user written with a password and policies can `bao
    login -method=userpass`: the CLI stores the token in ~/.vault-token and
    later commands use it; the token has the user's policies and reads what
    they grant; a wrong password is a 400 "invalid username or password"."""
    cp = bao_ok(server, "auth", "enable", "userpass")
    assert cp.stdout == "Success! Enabled userpass auth method at: userpass/\n"
    cp = bao_fail(server, "auth", "enable", "userpass")
    assert api_errors(cp.stderr) == (400, ["path is already in use at userpass/"])
    methods = bao_json(server, "auth", "list", "-format=json")
    assert methods["userpass/"]["type"] == "userpass" and "token/" in methods

    cp = bao_ok(server, "write", "auth/userpass/users/alice", "password=pw-alice",
                "policies=reader")
    assert cp.stdout == "Success! Data written to: auth/userpass/users/alice\n"
    user = bao_json(server, "read", "-format=json", "auth/userpass/users/alice")
    check_reference_shape("auth-cli-read-user", user)
    assert user["data"]["token_policies"] == ["reader"] and "password" not in user["data"]
    assert bao_json(server, "list", "-format=json", "auth/userpass/users") == ["alice"]

    token_file = server.home / ".vault-token"
    token_file.unlink(missing_ok=True)
    cp = bao_ok(server, "login", "-method=userpass", "username=alice", "password=pw-alice",
                token=None)
    assert cp.stdout.startswith("Success! You are now authenticated."), cp.stdout
    assert "token_meta_username    alice" in cp.stdout, cp.stdout
    assert 'token_policies         ["default" "reader"]' in cp.stdout, cp.stdout
    stored = token_file.read_text().strip()
    assert stored, "bao login stores the token for later commands"

    look = bao_json(server, "token", "lookup", "-format=json", token=None)
    assert look["data"]["id"] == stored
    assert look["data"]["policies"] == ["default", "reader"]
    assert look["data"]["meta"] == {"username": "alice"}
    assert look["data"]["path"] == "auth/userpass/login/alice"
    assert look["data"]["display_name"] == "userpass-alice"
    got = bao_json(server, "read", "-format=json", "kv1/app", token=None)
    assert got["data"] == {"v": "secret"}
    cp = bao_fail(server, "write", "kv1/app", "v=changed", token=None)
    assert api_errors(cp.stderr)[0] == 403

    out = bao_json(server, "login", "-format=json", "-method=userpass", "-no-store",
                   "username=alice", "password=pw-alice", token=None)
    check_reference_shape("auth-cli-login-userpass", out)
    assert out["auth"]["metadata"] == {"username": "alice"}
    assert out["auth"]["orphan"] is True and out["auth"]["renewable"] is True
    assert token_file.read_text().strip() == stored, "-no-store leaves the stored token"

    cp = bao_fail(server, "login", "-method=userpass", "username=alice", "password=wrong",
                  token=None)
    assert api_errors(cp.stderr) == (400, ["invalid username or password"])
    cp = bao_fail(server, "login", "-method=userpass", "username=nobody", "password=x",
                  token=None)
    assert api_errors(cp.stderr) == (400, ["invalid username or password"])
    token_file.unlink()


def test_approle_cli(server):
    """AppRole: `bao auth enable approle`, a role with token policies and
    secret_id_num_uses=2, its role-id and a secret-id; `bao write
    auth/approle/login role_id=.. secret_id=..` returns a token with the
    role's policies and TTL; the secret-id works exactly twice, then (and for
    any wrong id) login is a 400 "invalid role or secret ID"."""
    bao_ok(server, "auth", "enable", "approle")
    bao_ok(server, "write", "auth/approle/role/web", "token_policies=reader",
           "secret_id_num_uses=2", "token_ttl=20m")
    role = bao_json(server, "read", "-format=json", "auth/approle/role/web")
    check_reference_shape("auth-cli-read-approle-role", role)
    assert role["data"]["token_policies"] == ["reader"] and role["data"]["token_ttl"] == 1200
    assert role["data"]["secret_id_num_uses"] == 2

    rid = bao_json(server, "read", "-format=json", "auth/approle/role/web/role-id")
    check_reference_shape("auth-cli-read-role-id", rid)
    role_id = rid["data"]["role_id"]
    sid = bao_json(server, "write", "-format=json", "-f", "auth/approle/role/web/secret-id")
    check_reference_shape("auth-cli-write-secret-id", sid)
    assert sid["data"]["secret_id_num_uses"] == 2
    secret_id = sid["data"]["secret_id"]

    for attempt in (1, 2):
        out = bao_json(server, "write", "-format=json", "auth/approle/login",
                       f"role_id={role_id}", f"secret_id={secret_id}", token=None)
        check_reference_shape("auth-cli-approle-login", out)
        auth = out["auth"]
        assert auth["policies"] == ["default", "reader"], attempt
        assert auth["lease_duration"] == 1200 and auth["metadata"] == {"role_name": "web"}
        r = server.http("GET", "/v1/kv1/app", token=auth["client_token"])
        assert r.status == 200 and r.json["data"] == {"v": "secret"}, r

    cp = bao_fail(server, "write", "auth/approle/login", f"role_id={role_id}",
                  f"secret_id={secret_id}", token=None)
    assert api_errors(cp.stderr) == (400, ["invalid role or secret ID"]), "num_uses=2 used up"
    cp = bao_fail(server, "write", "auth/approle/login", f"role_id={role_id}",
                  "secret_id=not-a-secret-id", token=None)
    assert api_errors(cp.stderr) == (400, ["invalid role or secret ID"])
    cp = bao_fail(server, "write", "auth/approle/login", "role_id=not-a-role",
                  f"secret_id={secret_id}", token=None)
    assert api_errors(cp.stderr) == (400, ["invalid role or secret ID"])


def test_auth_hvac(server):
    """hvac's userpass and approle helpers create a user and a role, log in
    (hvac then uses the new token) and get OpenBao's login shapes; a wrong
    password raises InvalidRequest."""
    client = server.hvac()
    client.sys.enable_auth_method("userpass", path="up2")
    client.auth.userpass.create_or_update_user("bob", "pw-bob", policies=["reader"],
                                               mount_point="up2")
    bob = server.hvac(token=None)
    login = bob.auth.userpass.login("bob", "pw-bob", mount_point="up2")
    check_reference_shape("auth-hvac-userpass-login", login)
    assert bob.token == login["auth"]["client_token"]
    assert bob.read("kv1/app")["data"] == {"v": "secret"}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid username or password"):
        server.hvac(token=None).auth.userpass.login("bob", "nope", mount_point="up2")

    client.sys.enable_auth_method("approle", path="ar2")
    client.auth.approle.create_or_update_approle("svc", token_policies=["reader"],
                                                 mount_point="ar2")
    role_id = client.auth.approle.read_role_id("svc", mount_point="ar2")["data"]["role_id"]
    generated = client.auth.approle.generate_secret_id("svc", mount_point="ar2")
    check_reference_shape("auth-hvac-generate-secret-id", generated)
    app = server.hvac(token=None)
    login = app.auth.approle.login(role_id, generated["data"]["secret_id"], mount_point="ar2")
    check_reference_shape("auth-hvac-approle-login", login)
    assert app.read("kv1/app")["data"] == {"v": "secret"}
    listed = client.sys.list_auth_methods()
    assert listed["data"]["ar2/"]["type"] == "approle"
    assert client.sys.disable_auth_method("ar2").status_code == 204
    with pytest.raises(hvac.exceptions.Forbidden):
        app.read("kv1/app")  # disabling the method revoked its tokens


def login_lease(server, user: str) -> tuple:
    """Log ``user`` in once more and return the lease id of that login
    (the new lease under sys/leases/lookup/auth/userpass/login/USER/)
    and the login's auth block."""
    r = server.http("LIST", f"/v1/sys/leases/lookup/auth/userpass/login/{user}",
                    token=server.root_token)
    before = set(r.json["data"]["keys"]) if r.status == 200 else set()
    auth = login_userpass(server, user, f"pw-{user}")
    r = server.http("LIST", f"/v1/sys/leases/lookup/auth/userpass/login/{user}",
                    token=server.root_token)
    assert r.status == 200, r
    new = set(r.json["data"]["keys"]) - before
    assert len(new) == 1, (before, r.json)
    (key,) = new
    assert key.startswith("h"), key
    return f"auth/userpass/login/{user}/{key}", auth


def test_lease_of_userpass_login(server):
    """A userpass login creates one lease for its token: `bao lease lookup`
    shows id, path, issue/expire time and TTL (OpenBao's shape); `bao lease
    renew` is refused with 400 "tokens cannot be renewed through this
    endpoint"; `bao lease revoke` revokes the token (it is refused after) and
    the lease (lookup then is a 400 "invalid lease"); renewing a revoked lease
    is a 400 "lease not found"."""
    if "userpass/" not in bao_json(server, "auth", "list", "-format=json"):
        bao_ok(server, "auth", "enable", "userpass")
    bao_ok(server, "write", "auth/userpass/users/carol", "password=pw-carol",
           "policies=reader", "token_ttl=1h")
    lease_id, auth = login_lease(server, "carol")

    out = bao_json(server, "lease", "lookup", "-format=json", lease_id)
    check_reference_shape("auth-cli-lease-lookup", out)
    data = out["data"]
    assert data["id"] == lease_id and data["path"] == "auth/userpass/login/carol"
    assert data["renewable"] is True and data["last_renewal"] is None
    assert 3590 <= data["ttl"] <= 3600
    cp = bao_ok(server, "lease", "lookup", lease_id)
    assert f"id              {lease_id}\n" in cp.stdout, cp.stdout

    r = server.http("PUT", "/v1/sys/leases/lookup", {"lease_id": lease_id},
                    token=server.root_token)
    assert r.status == 200 and r.json["data"]["id"] == lease_id, r

    cp = bao_fail(server, "lease", "renew", lease_id)
    assert api_errors(cp.stderr) == (400, ["tokens cannot be renewed through this endpoint"])

    r = server.http("GET", "/v1/auth/token/lookup-self", token=auth["client_token"])
    assert r.status == 200, r
    cp = bao_ok(server, "lease", "revoke", lease_id)
    assert cp.stdout == "All revocation operations queued successfully!\n", cp.stdout
    r = server.http("GET", "/v1/auth/token/lookup-self", token=auth["client_token"])
    assert (r.status, r.json) == (403, {"errors": ["permission denied"]}), r
    cp = bao_fail(server, "lease", "lookup", lease_id)
    assert api_errors(cp.stderr) == (400, ["invalid lease"])
    cp = bao_fail(server, "lease", "renew", lease_id)
    assert api_errors(cp.stderr) == (400, ["lease not found"])


def test_lease_goes_with_its_token(server):
    """Revoking a login token with `bao token revoke` also removes its lease:
    `bao lease lookup` of it is then a 400 "invalid lease"; a prefix revoke
    (`bao lease revoke -prefix auth/userpass/login/dave`) revokes every
    token of that user's logins at once and its lease entries within 2 s."""
    if "userpass/" not in bao_json(server, "auth", "list", "-format=json"):
        bao_ok(server, "auth", "enable", "userpass")
    bao_ok(server, "write", "auth/userpass/users/dave", "password=pw-dave", "policies=reader")
    lease_id, auth = login_lease(server, "dave")
    bao_ok(server, "token", "revoke", auth["client_token"])
    cp = bao_fail(server, "lease", "lookup", lease_id)
    assert api_errors(cp.stderr) == (400, ["invalid lease"])

    tokens = [login_userpass(server, "dave", "pw-dave")["client_token"] for _ in range(2)]
    cp = bao_ok(server, "lease", "revoke", "-prefix", "auth/userpass/login/dave")
    assert cp.stdout == "All revocation operations queued successfully!\n", cp.stdout
    for t in tokens:
        r = server.http("GET", "/v1/auth/token/lookup-self", token=t)
        assert r.status == 403, r

    def leases_listed():
        return server.http("LIST", "/v1/sys/leases/lookup/auth/userpass/login/dave",
                           token=server.root_token)

    # The revocation is queued: the lease entries go away shortly after.
    poll_until(lambda: leases_listed().status == 404, 2.0, 0.05, "dave's leases removed")
    r = leases_listed()
    assert (r.status, r.json) == (404, {"errors": []}), r
    assert json.loads(bao_ok(server, "token", "lookup", "-format=json").stdout)["data"]["id"]
