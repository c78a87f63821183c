"""KV v2 and the mount table, driven by the `bao` CLI and by hvac.

Every JSON output is compared with OpenBao 2.7.2's output of the same command
(``reference/openbao-2.7.2/core/kv-*.json``) by key set and JSON types; exit
codes and error texts are compared exactly. One Raft node serves the module;
each test uses its own mount paths.
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
    start_unsealed,
)


@pytest.fixture(scope="module")
def server(make_module_server):
    return start_unsealed(make_module_server, "core-kv")


def kv_data(out: dict) -> dict:
    """The secret's key/values of a ``kv get -format=json`` output."""
    return out["data"]["data"]


def test_kv2_cli_lifecycle(server):
    """`bao secrets enable kv-v2` then kv put/get/patch/metadata get/rollback/
    delete/undelete/destroy/list behave as on OpenBao: versions count 1, 2, 3;
    patch merges; rollback writes the old data as a new version; delete hides
    the latest version until undelete; destroy makes a version unreadable for
    good and refuses to roll back to it; misses exit 2 with "No value found"."""
    cp = bao_ok(server, "secrets", "enable", "-path=kv2", "kv-v2")
    assert cp.stdout == "Success! Enabled the kv-v2 secrets engine at: kv2/\n"

    put = bao_json(server, "kv", "put", "-format=json", "kv2/app", "a=1", "b=two")
    check_reference_shape("kv-cli-put", put)
    assert put["data"]["version"] == 1 and put["data"]["destroyed"] is False
    assert put["data"]["deletion_time"] == ""

    got = bao_json(server, "kv", "get", "-format=json", "kv2/app")
    check_reference_shape("kv-cli-get", got)
    assert kv_data(got) == {"a": "1", "b": "two"}
    assert got["data"]["metadata"]["version"] == 1

    patched = bao_json(server, "kv", "patch", "-format=json", "kv2/app", "b=three", "c=3")
    check_reference_shape("kv-cli-patch", patched)
    assert patched["data"]["version"] == 2
    got = bao_json(server, "kv", "get", "-format=json", "kv2/app")
    assert kv_data(got) == {"a": "1", "b": "three", "c": "3"}, "patch merges into the latest"

    meta = bao_json(server, "kv", "metadata", "get", "-format=json", "kv2/app")
    check_reference_shape("kv-cli-metadata-get", meta)
    assert meta["data"]["current_version"] == 2 and meta["data"]["oldest_version"] == 0
    assert sorted(meta["data"]["versions"]) == ["1", "2"]
    assert meta["data"]["max_versions"] == 0 and meta["data"]["cas_required"] is False
    assert meta["data"]["delete_version_after"] == "0s"

    rolled = bao_json(server, "kv", "rollback", "-format=json", "-version=1", "kv2/app")
    check_reference_shape("kv-cli-rollback", rolled)
    assert rolled["data"]["version"] == 3
    got = bao_json(server, "kv", "get", "-format=json", "kv2/app")
    assert kv_data(got) == {"a": "1", "b": "two"}, "rollback restores version 1's data"
    assert got["data"]["metadata"]["version"] == 3

    v2 = bao_json(server, "kv", "get", "-format=json", "-version=2", "kv2/app")
    assert kv_data(v2) == {"a": "1", "b": "three", "c": "3"}

    cp = bao_ok(server, "kv", "delete", "kv2/app")
    assert cp.stdout == "Success! Data deleted (if it existed) at: kv2/data/app\n"
    deleted = bao_json(server, "kv", "get", "-format=json", "kv2/app")
    check_reference_shape("kv-cli-get-deleted", deleted)
    assert deleted["data"]["data"] is None
    assert deleted["data"]["metadata"]["deletion_time"] != ""
    assert deleted["data"]["metadata"]["destroyed"] is False

    cp = bao_ok(server, "kv", "undelete", "-versions=3", "kv2/app")
    assert cp.stdout == "Success! Data written to: kv2/undelete/app\n"
    got = bao_json(server, "kv", "get", "-format=json", "kv2/app")
    assert kv_data(got) == {"a": "1", "b": "two"}, "undelete brings version 3 back"

    cp = bao_ok(server, "kv", "destroy", "-versions=1", "kv2/app")
    assert cp.stdout == "Success! Data written to: kv2/destroy/app\n"
    destroyed = bao_json(server, "kv", "get", "-format=json", "-version=1", "kv2/app")
    check_reference_shape("kv-cli-get-destroyed", destroyed)
    assert destroyed["data"]["data"] is None
    assert destroyed["data"]["metadata"]["destroyed"] is True
    cp = bao_fail(server, "kv", "rollback", "-version=1", "kv2/app")
    assert cp.stderr == "Cannot roll back to a version that has been destroyed\n"

    meta = bao_json(server, "kv", "metadata", "get", "-format=json", "kv2/app")
    versions = meta["data"]["versions"]
    assert sorted(versions) == ["1", "2", "3"] and meta["data"]["current_version"] == 3
    assert versions["1"]["destroyed"] is True and versions["3"]["deletion_time"] == ""

    bao_ok(server, "kv", "put", "kv2/dir/x", "a=1")
    listed = bao_json(server, "kv", "list", "-format=json", "kv2/")
    assert listed == ["app", "dir/"]
    assert bao_json(server, "kv", "list", "-format=json", "kv2/dir") == ["x"]

    cp = bao_fail(server, "kv", "list", "kv2/nope")
    assert cp.stderr == "No value found at kv2/metadata/nope\n" and cp.stdout == ""
    cp = bao_fail(server, "kv", "get", "kv2/missing")
    assert cp.stderr == "No value found at kv2/data/missing\n" and cp.stdout == ""

    cp = bao_ok(server, "kv", "metadata", "delete", "kv2/dir/x")
    assert cp.stdout == "Success! Data deleted (if it existed) at: kv2/metadata/dir/x\n"
    assert bao_json(server, "kv", "list", "-format=json", "kv2/") == ["app"]


def test_kv2_cli_errors(server):
    """Enabling a mount on a used path is a 400 "path is already in use at
    kv2e/"; a check-and-set mismatch is a 400 naming it; `kv patch` of a
    secret that does not exist is a 404 (it does not create it)."""
    bao_ok(server, "secrets", "enable", "-path=kv2e", "kv-v2")
    cp = bao_fail(server, "secrets", "enable", "-path=kv2e", "kv-v2")
    assert api_errors(cp.stderr) == (400, ["path is already in use at kv2e/"])
    assert cp.stderr.startswith("Error enabling: Error making API request.")

    bao_ok(server, "kv", "put", "kv2e/c", "a=1")
    cp = bao_fail(server, "kv", "put", "-cas=0", "kv2e/c", "a=2")
    status, errors = api_errors(cp.stderr)
    assert status == 400 and errors == [
        "check-and-set parameter did not match the current version"
    ], cp.stderr
    put = bao_json(server, "kv", "put", "-format=json", "-cas=1", "kv2e/c", "a=2")
    assert put["data"]["version"] == 2

    cp = bao_fail(server, "kv", "patch", "kv2e/missing", "a=1")
    assert "Code: 404. Raw Message:" in cp.stderr, cp.stderr
    bao_fail(server, "kv", "get", "kv2e/missing")


def test_kv2_hvac(server):
    """hvac's kv.v2 calls (create, read, patch, metadata, delete, undelete,
    destroy, list) return OpenBao's response shapes and raise the same
    exceptions (InvalidPath for 404, InvalidRequest for 400)."""
    client = server.hvac()
    client.sys.enable_secrets_engine("kv", path="kvh", options={"version": "2"})
    kv = client.secrets.kv.v2

    created = kv.create_or_update_secret("s", {"k": "v1"}, mount_point="kvh")
    check_reference_shape("kv-hvac-create", created)
    assert created["data"]["version"] == 1
    read = kv.read_secret_version("s", mount_point="kvh", raise_on_deleted_version=True)
    check_reference_shape("kv-hvac-read", read)
    assert read["data"]["data"] == {"k": "v1"}

    patched = kv.patch("s", {"k2": "v2"}, mount_point="kvh")
    assert patched["data"]["version"] == 2
    read = kv.read_secret_version("s", mount_point="kvh", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"k": "v1", "k2": "v2"}

    meta = kv.read_secret_metadata("s", mount_point="kvh")
    check_reference_shape("kv-hvac-metadata", meta)
    assert meta["data"]["current_version"] == 2

    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set parameter did not match"):
        kv.create_or_update_secret("s", {"k": "x"}, cas=1, mount_point="kvh")

    r = kv.delete_latest_version_of_secret("s", mount_point="kvh")
    assert r.status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("s", mount_point="kvh", raise_on_deleted_version=True)
    deleted = kv.read_secret_version("s", mount_point="kvh", raise_on_deleted_version=False)
    check_reference_shape("kv-hvac-read-deleted", deleted)
    assert deleted["data"]["data"] is None

    assert kv.undelete_secret_versions("s", [2], mount_point="kvh").status_code == 204
    read = kv.read_secret_version("s", mount_point="kvh", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"k": "v1", "k2": "v2"}

    assert kv.destroy_secret_versions("s", [1], mount_point="kvh").status_code == 204
    meta = kv.read_secret_metadata("s", mount_point="kvh")
    assert meta["data"]["versions"]["1"]["destroyed"] is True

    kv.create_or_update_secret("d/e", {"x": "y"}, mount_point="kvh")
    listed = kv.list_secrets("", mount_point="kvh")
    check_reference_shape("kv-hvac-list", listed)
    assert listed["data"]["keys"] == ["d/", "s"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.list_secrets("nothing", mount_point="kvh")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("nothing", mount_point="kvh")

    assert kv.delete_metadata_and_all_versions("s", mount_point="kvh").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata("s", mount_point="kvh")


def test_secrets_list_tune_move_disable_cli(server):
    """`bao secrets list` shows a kv-v2 mount with OpenBao's fields; `secrets
    tune` changes what `read sys/mounts/P/tune` reports; `secrets move` (sys/
    remount) keeps the data readable at the new path and frees the old one;
    `secrets disable` deletes the data: a new mount at the same path is empty."""
    bao_ok(server, "secrets", "enable", "-path=mv1", "-description=before", "kv-v2")
    bao_ok(server, "kv", "put", "mv1/keep", "x=1")

    mounts = bao_json(server, "secrets", "list", "-format=json")
    check_reference_shape("kv-cli-secrets-list-entry", mounts["mv1/"])
    assert {"cubbyhole/", "identity/", "sys/", "mv1/"} <= set(mounts)
    assert mounts["mv1/"]["type"] == "kv" and mounts["mv1/"]["options"] == {"version": "2"}
    assert mounts["mv1/"]["description"] == "before"
    assert mounts["cubbyhole/"]["type"] == "cubbyhole" and mounts["cubbyhole/"]["local"] is True

    cp = bao_ok(server, "secrets", "tune", "-max-lease-ttl=2h", "-default-lease-ttl=1h",
                "-description=after", "mv1/")
    assert cp.stdout == "Success! Tuned the secrets engine at: mv1/\n"
    tune = bao_json(server, "read", "-format=json", "sys/mounts/mv1/tune")
    check_reference_shape("kv-cli-read-tune", tune)
    assert tune["data"]["max_lease_ttl"] == 7200 and tune["data"]["default_lease_ttl"] == 3600
    assert tune["data"]["description"] == "after"
    cp = bao_fail(server, "secrets", "tune", "-max-lease-ttl=abc", "mv1/", code=1)
    assert 'invalid value "abc" for flag -max-lease-ttl' in cp.stderr

    cp = bao_ok(server, "secrets", "move", "mv1/", "mv2/")
    assert "Success! Finished moving secrets engine mv1/ to mv2/" in cp.stdout, cp.stdout
    got = bao_json(server, "kv", "get", "-format=json", "mv2/keep")
    assert kv_data(got) == {"x": "1"}, "the moved mount keeps its data"
    mounts = bao_json(server, "secrets", "list", "-format=json")
    assert "mv1/" not in mounts and mounts["mv2/"]["description"] == "after"
    assert mounts["mv2/"]["config"]["max_lease_ttl"] == 7200, "tuning moves with the mount"
    r = server.http("GET", "/v1/mv1/data/keep", token=server.root_token)
    assert (r.status, r.json) == (404, {"errors": ['no handler for route "mv1/data/keep". route entry not found.']})
    cp = bao_fail(server, "secrets", "move", "mv1/", "mv3/")
    assert api_errors(cp.stderr) == (400, ['no matching mount at "mv1/"'])

    cp = bao_ok(server, "secrets", "disable", "mv2/")
    assert cp.stdout == "Success! Disabled the secrets engine (if it existed) at: mv2/\n"
    assert "mv2/" not in bao_json(server, "secrets", "list", "-format=json")
    bao_ok(server, "secrets", "enable", "-path=mv2", "kv-v2")
    cp = bao_fail(server, "kv", "get", "mv2/keep")
    assert cp.stderr == "No value found at mv2/data/keep\n", "disable deleted the data"
    cp = bao_ok(server, "secrets", "disable", "never-mounted")
    assert cp.stdout == "Success! Disabled the secrets engine (if it existed) at: never-mounted/\n"


def test_secrets_hvac(server):
    """hvac's sys mount calls (enable, list, tune, read tune, move, disable)
    give OpenBao's shapes; a move is finished when sys/remount/status says
    so and keeps the data; disable removes the data."""
    client = server.hvac()
    client.sys.enable_secrets_engine("kv", path="hv1", options={"version": "2"},
                                     description="hv")
    client.secrets.kv.v2.create_or_update_secret("k", {"v": "1"}, mount_point="hv1")

    listed = client.sys.list_mounted_secrets_engines()
    check_reference_shape("kv-hvac-list-mounts-entry", listed["hv1/"])
    assert listed["data"]["hv1/"]["type"] == "kv"

    r = client.sys.tune_mount_configuration("hv1", default_lease_ttl="30m", max_lease_ttl="1h")
    assert r.status_code == 204
    cfg = client.sys.read_mount_configuration("hv1")
    check_reference_shape("kv-hvac-read-mount-configuration", cfg)
    assert (cfg["data"]["default_lease_ttl"], cfg["data"]["max_lease_ttl"]) == (1800, 3600)

    moved = client.sys.move_backend("hv1", "hv2")
    check_reference_shape("kv-hvac-move-backend", moved)
    migration = moved["migration_id"]
    deadline = time.monotonic() + 10
    while True:
        st = client.read(f"sys/remount/status/{migration}")
        if st["data"]["migration_info"]["status"] == "success":
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.05)
    check_reference_shape("kv-hvac-remount-status", st)
    assert st["data"]["migration_info"]["source_mount"] == "hv1/"
    assert st["data"]["migration_info"]["target_mount"] == "hv2/"
    read = client.secrets.kv.v2.read_secret_version("k", mount_point="hv2",
                                                    raise_on_deleted_version=True)
    assert read["data"]["data"] == {"v": "1"}

    assert client.sys.disable_secrets_engine("hv2").status_code == 204
    assert "hv2/" not in client.sys.list_mounted_secrets_engines()["data"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="no matching mount"):
        client.sys.move_backend("hv2", "hv3")


def test_secrets_and_auth_list_default_entries(server):
    """`bao secrets list` and `bao auth list` show the built-in mounts
    (cubbyhole/, identity/, sys/, token/) with OpenBao's fields, including
    the sys/ and identity/ passthrough_request_headers, and an auth method
    enabled by `bao auth enable` has options null."""
    mounts = bao_json(server, "secrets", "list", "-format=json")
    for name in ("cubbyhole/", "identity/", "sys/"):
        check_reference_shape(f"kv-cli-secrets-list-{name.rstrip('/')}", mounts[name])
    assert mounts["sys/"]["config"]["passthrough_request_headers"] == ["Accept"]
    assert mounts["identity/"]["config"]["passthrough_request_headers"] == ["Authorization"]
    bao_ok(server, "auth", "enable", "-path=up-list", "userpass")
    methods = bao_json(server, "auth", "list", "-format=json")
    check_reference_shape("kv-cli-auth-list-token", methods["token/"])
    check_reference_shape("kv-cli-auth-list-userpass", methods["up-list/"])
    assert methods["up-list/"]["options"] is None
    assert methods["token/"]["type"] == "token"
