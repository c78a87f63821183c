"""HTTP edge cases of the sys/ API: exact status codes and ``{"errors": [...]}``
bodies, compared with the captured OpenBao 2.7.2 responses in
``reference/openbao-2.7.2/``.

Three servers are shared by the tests of this module, one per seal state:
never initialized, initialized but sealed (3 shares, threshold 2, like the
captures), and unsealed. Tests leave their server in the state they found it.
"""

from __future__ import annotations

import base64

import pytest

from harness import assert_same_shape

MAX_REQUEST_SIZE = 1024
LISTENER = f"  max_request_size = {MAX_REQUEST_SIZE}\n"
SEALED = {"errors": ["Vault is sealed"]}
DECODE_PREFIX = "failed to decode JSON input: "


def check(resp, fixture: dict, *, exact: bool = True) -> None:
    """``resp`` has the fixture's status, JSON content type, no-store caching,
    and the fixture's body (exactly, or by shape if ``exact`` is False)."""
    expected = fixture["response"]
    assert resp.status == expected["status"], resp
    assert resp.headers.get("content-type") == "application/json", resp.headers
    assert resp.headers.get("cache-control") == "no-store", resp.headers
    if expected["body"] is None:
        assert resp.raw == b"", resp
    elif exact:
        assert resp.json == expected["body"], resp
    else:
        assert_same_shape(resp.json, expected["body"])


def check_error(resp, status: int, errors: list) -> None:
    """An error response: ``status``, JSON content type, body ``{"errors": errors}``."""
    assert resp.status == status, resp
    assert resp.headers.get("content-type") == "application/json", resp.headers
    assert resp.json == {"errors": errors}, resp


def check_decode_error(resp) -> None:
    """A 400 for an undecodable body: one error naming the JSON decoding.
    (The rest of OpenBao's message is Go's json error text.)"""
    assert resp.status == 400, resp
    assert isinstance(resp.errors, list) and len(resp.errors) == 1, resp
    assert resp.errors[0].startswith(DECODE_PREFIX), resp


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def uninit(make_module_server):
    """A server that is never initialized."""
    return make_module_server("uninit", listener_extra=LISTENER)


@pytest.fixture(scope="module")
def sealed_server(make_module_server):
    server = make_module_server("sealed", listener_extra=LISTENER)
    server.init(3, 2)
    return server


@pytest.fixture
def sealed(sealed_server):
    """The initialized, sealed server, with no unseal attempt in progress
    before and after the test."""
    assert sealed_server.seal_status()["progress"] == 0
    yield sealed_server
    r = sealed_server.http("PUT", "/v1/sys/unseal", {"reset": True})
    assert r.status == 200 and r.json["sealed"] is True, "a test unsealed the sealed server"


@pytest.fixture(scope="module")
def active(make_module_server):
    """An initialized, unsealed, active server."""
    server = make_module_server("active", listener_extra=LISTENER)
    server.init(3, 2)
    server.unseal()
    server.wait_active()
    return server


# --------------------------------------------------------------------------- uninitialized


def test_health_uninitialized_is_501(uninit, ref):
    """GET/HEAD sys/health on an uninitialized node answer 501 (HEAD without a
    body); uninitcode overrides the code."""
    check(uninit.http("GET", "/v1/sys/health"), ref("sys-health-uninitialized-501"), exact=False)
    head = uninit.http("HEAD", "/v1/sys/health")
    assert (head.status, head.raw) == (501, b"")
    r = uninit.http("GET", "/v1/sys/health?uninitcode=200")
    assert r.status == 200
    assert_same_shape(r.json, ref("sys-health-uninitialized-501")["response"]["body"])
    assert uninit.http("GET", "/v1/sys/health?uninitcode=299").status == 299


def test_status_endpoints_uninitialized(uninit, ref):
    """seal-status and GET sys/init describe an uninitialized node like OpenBao."""
    check(uninit.http("GET", "/v1/sys/seal-status"), ref("sys-seal-status-uninitialized"), exact=False)
    r = uninit.http("GET", "/v1/sys/seal-status")
    assert (r.json["initialized"], r.json["sealed"], r.json["t"], r.json["n"]) == (False, True, 0, 0)
    check(uninit.http("GET", "/v1/sys/init"), ref("sys-init-status-get"))


def test_init_threshold_larger_than_shares_is_400(uninit, ref):
    """sys/init with threshold > shares is refused with OpenBao's message and
    leaves the node uninitialized."""
    fx = ref("sys-init-error-bad-threshold")
    check(uninit.http("PUT", "/v1/sys/init", fx["request"]["body"]), fx)
    assert uninit.http("GET", "/v1/sys/init").json == {"initialized": False}


def test_init_malformed_json_is_400(uninit):
    """An undecodable sys/init body is a 400 decode error, and initializes nothing."""
    check_decode_error(uninit.http("PUT", "/v1/sys/init", raw=b"{not json"))
    assert uninit.http("GET", "/v1/sys/init").json == {"initialized": False}


def test_body_over_max_request_size_is_413(uninit, sealed, active):
    """A body larger than the listener's max_request_size is refused with 413
    in every seal state, before anything reads it as a request."""
    big = b'{"secret_shares":1,"secret_threshold":1,"pad":"' + b"x" * (MAX_REQUEST_SIZE * 2) + b'"}'
    check_error(uninit.http("PUT", "/v1/sys/init", raw=big), 413, ["http: request body too large"])
    assert uninit.http("GET", "/v1/sys/init").json == {"initialized": False}
    check_error(sealed.http("PUT", "/v1/sys/unseal", raw=big), 413, ["http: request body too large"])
    body = {"value": "x" * (MAX_REQUEST_SIZE * 2)}
    r = active.http("PUT", "/v1/sys/raw/e2e/big", body, token=active.root_token)
    check_error(r, 413, ["http: request body too large"])
    assert active.http("GET", "/v1/sys/raw/e2e/big", token=active.root_token).status == 404
    # Just under the limit is fine.
    body = {"value": "x" * (MAX_REQUEST_SIZE - 100)}
    r = active.http("PUT", "/v1/sys/raw/e2e/big", body, token=active.root_token)
    assert r.status == 204, r


# --------------------------------------------------------------------------- sealed


def test_health_sealed_is_503(sealed, ref):
    """sys/health on a sealed node answers 503; sealedcode overrides it; HEAD
    gives the same code without a body."""
    check(sealed.http("GET", "/v1/sys/health"), ref("sys-health-sealed-503"), exact=False)
    r = sealed.http("GET", "/v1/sys/health?sealedcode=200&uninitcode=200")
    check(r, ref("sys-health-sealed-sealedcode-200"), exact=False)
    assert (r.json["initialized"], r.json["sealed"], r.json["standby"]) == (True, True, True)
    head = sealed.http("HEAD", "/v1/sys/health")
    assert (head.status, head.raw) == (503, b"")
    assert sealed.http("HEAD", "/v1/sys/health?sealedcode=299").status == 299


def test_seal_status_sealed(sealed, ref):
    """seal-status of a sealed node has OpenBao's fields, t=2, n=3, progress 0."""
    r = sealed.http("GET", "/v1/sys/seal-status")
    check(r, ref("sys-seal-status-sealed"), exact=False)
    assert (r.json["t"], r.json["n"], r.json["progress"], r.json["nonce"]) == (2, 3, 0, "")


def test_init_again_is_400(sealed, ref):
    """A second sys/init is refused: 'Vault is already initialized'."""
    fx = ref("sys-init-put-again-already-initialized")
    check(sealed.http("PUT", "/v1/sys/init", fx["request"]["body"]), fx)


def test_unseal_missing_key_is_400(sealed, ref):
    """sys/unseal with neither key nor reset (or an empty key) is a 400."""
    fx = ref("sys-unseal-missing-key")
    check(sealed.http("PUT", "/v1/sys/unseal", {}), fx)
    check(sealed.http("PUT", "/v1/sys/unseal", {"key": ""}), fx)


def test_unseal_bad_key_is_400(sealed, ref):
    """A key that is neither hex nor base64 is a 400 and adds no progress; a
    decodable but too short key is a 400 too."""
    fx = ref("sys-unseal-bad-key")
    check(sealed.http("PUT", "/v1/sys/unseal", fx["request"]["body"]), fx)
    check_error(
        sealed.http("PUT", "/v1/sys/unseal", {"key": "AAAA"}),
        400,
        ["invalid key: key is shorter than minimum 16 bytes"],
    )
    assert sealed.seal_status()["progress"] == 0


def test_unseal_malformed_json_is_400(sealed):
    """An undecodable sys/unseal body is a 400 decode error."""
    check_decode_error(sealed.http("PUT", "/v1/sys/unseal", raw=b"{not json"))
    check_decode_error(sealed.http("PUT", "/v1/sys/unseal", raw=b'"a string"'))


def test_unseal_progress_and_reset(sealed, ref):
    """One share gives progress 1 with a nonce; resubmitting the same share adds
    nothing; reset (also alongside a key) clears progress and nonce."""
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": sealed.keys[0]})
    check(r, ref("sys-unseal-progress-1-of-2-hex"), exact=False)
    assert (r.json["sealed"], r.json["progress"]) == (True, 1) and r.json["nonce"]
    nonce = r.json["nonce"]
    again = sealed.http("PUT", "/v1/sys/unseal", {"key": sealed.keys[0]})
    assert again.status == 200 and again.json["progress"] == 1 and again.json["nonce"] == nonce
    assert sealed.seal_status()["progress"] == 1
    r = sealed.http("PUT", "/v1/sys/unseal", {"reset": True})
    check(r, ref("sys-unseal-reset"), exact=False)
    assert (r.json["progress"], r.json["nonce"]) == (0, "")
    sealed.http("PUT", "/v1/sys/unseal", {"key": sealed.keys[1]})
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": sealed.keys[2], "reset": True})
    assert r.status == 200 and (r.json["sealed"], r.json["progress"]) == (True, 0), r


def test_unseal_hex_share_counts_like_base64(sealed):
    """A share may be given as hex or base64: the same share in both forms
    counts once."""
    hex_form = base64.b64decode(sealed.keys[0]).hex()
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": hex_form})
    assert r.status == 200 and r.json["progress"] == 1, r
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": sealed.keys[0]})
    assert r.status == 200 and r.json["progress"] == 1, r


def test_wrong_share_then_threshold_is_400(sealed, ref):
    """A wrong share is accepted (progress 1) because shares cannot be checked
    alone; the share that reaches the threshold then fails to combine with a
    400, the attempt is discarded (progress 0, no nonce) and the node stays sealed."""
    wrong = ref("sys-unseal-wrong-share-accepted-progress-1")
    r = sealed.http("PUT", "/v1/sys/unseal", wrong["request"]["body"])
    check(r, wrong, exact=False)
    assert (r.json["sealed"], r.json["progress"]) == (True, 1)
    # The captured second share was the first real share, in hex.
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": base64.b64decode(sealed.keys[0]).hex()})
    check(r, ref("sys-unseal-combine-fails-400"))
    r = sealed.http("GET", "/v1/sys/seal-status")
    check(r, ref("sys-seal-status-after-failed-combine"), exact=False)
    assert (r.json["sealed"], r.json["progress"], r.json["nonce"]) == (True, 0, "")


def test_wrong_share_of_right_length_is_400(sealed):
    """A wrong share of the right length combines into a wrong key: the keyring
    fails to decrypt (an integrity failure), which is a 400 'invalid key', not a
    500, and the node stays sealed with progress reset."""
    share = bytearray(base64.b64decode(sealed.keys[0]))
    share[0] ^= 0xFF  # same x coordinate (last byte), wrong y
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": base64.b64encode(bytes(share)).decode()})
    assert r.status == 200 and r.json["progress"] == 1, r
    r = sealed.http("PUT", "/v1/sys/unseal", {"key": sealed.keys[1]})
    assert r.status == 400, r
    assert len(r.errors) == 1 and "invalid key" in r.errors[0], r
    status = sealed.seal_status()
    assert (status["sealed"], status["progress"]) == (True, 0)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/v1/secret/data/samples/app"),
        ("GET", "/v1/nonexistent/path"),
        ("GET", "/v1/sys/mounts"),
        ("GET", "/v1/sys/key-status"),
        ("PUT", "/v1/sys/rotate"),
        ("GET", "/v1/sys/raw/some/key"),
    ],
)
def test_sealed_node_answers_503(sealed, uninit, ref, method, path):
    """While sealed (or uninitialized), every path outside the seal/health/init
    endpoints answers 503 'Vault is sealed', with or without a token."""
    fx = ref("kv2-read-while-sealed-503")
    check(sealed.http(method, path, token=sealed.root_token), fx)
    check(sealed.http(method, path), fx)
    check(uninit.http(method, path), fx)


# --------------------------------------------------------------------------- active


def test_health_active_is_200(active, ref):
    """sys/health on the active node: 200 with OpenBao's fields; HEAD has no
    body; activecode overrides; standbyok changes nothing on an active node."""
    r = active.http("GET", "/v1/sys/health")
    check(r, ref("sys-health-active-200"), exact=False)
    assert (r.json["initialized"], r.json["sealed"], r.json["standby"]) == (True, False, False)
    check(active.http("HEAD", "/v1/sys/health"), ref("sys-health-head"))
    assert active.http("GET", "/v1/sys/health?activecode=299").status == 299
    assert active.http("HEAD", "/v1/sys/health?activecode=299").status == 299
    assert active.http("GET", "/v1/sys/health?standbyok=true").status == 200


def test_seal_status_unsealed(active, ref):
    """seal-status of an unsealed node has OpenBao's fields, including cluster name and id."""
    r = active.http("GET", "/v1/sys/seal-status")
    check(r, ref("sys-seal-status-unsealed"), exact=False)
    assert r.json["sealed"] is False and r.json["cluster_id"]


def test_unseal_when_unsealed(active, ref):
    """Submitting a share to an unsealed node is a harmless 200 showing the
    unsealed status; a reset is refused with 400."""
    r = active.http("PUT", "/v1/sys/unseal", {"key": active.keys[0]})
    check(r, ref("sys-unseal-when-unsealed"), exact=False)
    assert r.json["sealed"] is False
    check_error(active.http("PUT", "/v1/sys/unseal", {"reset": True}), 400, ["vault is unsealed"])


def test_malformed_json_is_400(active):
    """A body that is not JSON, or JSON that is not an object, is a 400 decode
    error and writes nothing."""
    token = active.root_token
    check_decode_error(active.http("PUT", "/v1/sys/raw/e2e/bad", raw=b"{not json", token=token))
    check_decode_error(active.http("PUT", "/v1/sys/raw/e2e/bad", raw=b'"not-an-object"', token=token))
    assert active.http("GET", "/v1/sys/raw/e2e/bad", token=token).status == 404


def test_unknown_path_is_404(active, ref):
    """An unmounted path is a 404 naming the route; an unknown sys/ path is a
    404 'unsupported path'; a missing raw key is a 404 with no errors."""
    token = active.root_token
    check(active.http("GET", "/v1/nonexistent/path", token=token), ref("error-unknown-path-404"))
    check(active.http("GET", "/v1/sys/does-not-exist", token=token), ref("error-unknown-sys-path-404"))
    check_error(active.http("GET", "/v1/sys/raw/e2e/missing", token=token), 404, [])


def test_not_v1_is_404(active, ref):
    """Paths outside /v1/ are a 404 with an empty errors list."""
    check(active.http("GET", "/v2/sys/health"), ref("error-not-v1-404"))
    check(active.http("GET", "/v2/sys/health", token=active.root_token), ref("error-not-v1-404"))


def test_wrong_method_is_405(active, ref):
    """DELETE sys/health is a 405 with an empty errors list."""
    fx = ref("error-method-not-allowed-405")
    check(active.http("DELETE", "/v1/sys/health", token=active.root_token), fx)
    check(active.http("DELETE", "/v1/sys/health"), fx)


def test_rotate_without_valid_token_is_403(active, ref):
    """sys/rotate without a token, or with an unknown one, is a 403
    'permission denied' and does not rotate."""
    token = active.root_token
    term = active.http("GET", "/v1/sys/key-status", token=token).json["data"]["term"]
    check(active.http("PUT", "/v1/sys/rotate"), ref("error-no-token-403"))
    check(active.http("PUT", "/v1/sys/rotate", token="s.bogus-token"), ref("error-bad-token-403"))
    assert active.http("GET", "/v1/sys/key-status", token=token).json["data"]["term"] == term


def test_no_token_is_403_before_routing(active, ref):
    """Without a token, even unknown paths answer 403 (authentication happens
    before routing, so path existence does not leak)."""
    check(active.http("GET", "/v1/nonexistent/path"), ref("error-no-token-403"))
    check(active.http("GET", "/v1/sys/does-not-exist"), ref("error-no-token-403"))
    check(active.http("GET", "/v1/sys/raw/e2e/missing"), ref("error-no-token-403"))
