"""hvac (the Python client users use) sees the same sys/ API as against OpenBao.

Every result is compared with the captured OpenBao 2.7.2 response body of the
same call (``reference/openbao-2.7.2/sys-*.json``) by key set and JSON types.
"""

from __future__ import annotations

import hvac.exceptions
import pytest

from harness import assert_same_shape


def body(ref, name: str):
    return ref(name)["response"]["body"]


def status_of(ref, name: str) -> int:
    return ref(name)["response"]["status"]


def test_hvac_seal_lifecycle(make_server, ref):
    """hvac's sys.* calls for init, unseal, health, seal and key rotation get
    the status codes and response shapes OpenBao gives, in every seal state."""
    server = make_server("hvac")
    client = server.hvac(token=None)

    # Uninitialized.
    assert client.sys.is_initialized() is False
    assert client.sys.read_init_status() == body(ref, "sys-init-status-get")
    seal = client.sys.read_seal_status()
    assert_same_shape(seal, body(ref, "sys-seal-status-uninitialized"))
    assert (seal["initialized"], seal["sealed"]) == (False, True)
    health = client.sys.read_health_status(method="GET")
    assert health.status_code == status_of(ref, "sys-health-uninitialized-501") == 501
    assert_same_shape(health.json(), body(ref, "sys-health-uninitialized-501"))
    assert client.sys.read_health_status(method="HEAD").status_code == 501

    # Initialize.
    init = client.sys.initialize(secret_shares=5, secret_threshold=3)
    assert_same_shape(init, body(ref, "sys-init-put-3-shares-threshold-2"))
    assert len(init["keys"]) == len(init["keys_base64"]) == 5
    client.token = init["root_token"]
    assert client.sys.is_initialized() is True
    assert client.sys.is_sealed() is True

    # Sealed.
    health = client.sys.read_health_status(method="GET")
    assert health.status_code == 503
    assert_same_shape(health.json(), body(ref, "sys-health-sealed-503"))
    health = client.sys.read_health_status(method="GET", sealed_code=200, uninit_code=200)
    assert isinstance(health, dict), "a 200 health answer is decoded by hvac"
    assert_same_shape(health, body(ref, "sys-health-sealed-sealedcode-200"))
    with pytest.raises(hvac.exceptions.VaultDown, match="Vault is sealed"):
        client.sys.get_encryption_key_status()

    # Unseal: one share (hex form), reset, then three base64 shares.
    one = client.sys.submit_unseal_key(init["keys"][0])
    assert_same_shape(one, body(ref, "sys-unseal-progress-1-of-2-hex"))
    assert (one["sealed"], one["progress"], one["t"], one["n"]) == (True, 1, 3, 5)
    reset = client.sys.submit_unseal_key(reset=True)
    assert_same_shape(reset, body(ref, "sys-unseal-reset"))
    assert (reset["progress"], reset["nonce"]) == (0, "")
    done = client.sys.submit_unseal_keys(init["keys_base64"][1:4])
    assert_same_shape(done, body(ref, "sys-unseal-complete"))
    assert done["sealed"] is False
    server.wait_active()
    assert client.sys.is_sealed() is False

    # Active.
    health = client.sys.read_health_status(method="GET")
    assert_same_shape(health, body(ref, "sys-health-active-200"))
    assert (health["initialized"], health["sealed"], health["standby"]) == (True, False, False)
    health = client.sys.read_health_status(method="GET", standby_ok=True, active_code=200)
    assert_same_shape(health, body(ref, "sys-health-active-200"))
    assert client.sys.read_health_status(method="GET", active_code=299).status_code == 299
    head = client.sys.read_health_status(method="HEAD")
    assert head.status_code == 200 and head.content == b""

    # Key status and rotation.
    ks = client.sys.get_encryption_key_status()
    assert_same_shape(ks, body(ref, "sys-key-status"))
    assert ks["data"]["term"] == ks["term"] == 1
    rotated = client.sys.rotate_encryption_key()
    assert rotated.status_code == status_of(ref, "sys-rotate-put") == 204
    ks = client.sys.get_encryption_key_status()
    assert_same_shape(ks, body(ref, "sys-key-status-after-rotate"))
    assert ks["data"]["term"] == 2

    # Seal, and init is refused from now on.
    sealed = client.sys.seal()
    assert sealed.status_code == status_of(ref, "sys-seal-put") == 204
    assert client.sys.is_sealed() is True
    assert_same_shape(client.sys.read_seal_status(), body(ref, "sys-seal-status-sealed"))
    with pytest.raises(hvac.exceptions.InvalidRequest, match="Vault is already initialized"):
        client.sys.initialize(secret_shares=1, secret_threshold=1)
