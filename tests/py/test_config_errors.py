"""A bad configuration makes the server exit non-zero with a message naming the
problem, before it serves anything.

OpenBao's wording differs from Coffer's, so only the exit code and the name of
the offending key, type or file are compared. OpenBao prints these errors on
stdout (quirk); Coffer must print them on stderr.
"""

from __future__ import annotations

import harness


def diagnostics(out: str, err: str) -> str:
    return err if harness.SERVER_KIND == "coffer" else out + err


def run_with_config(make_server, name: str, edit) -> tuple:
    """Render a valid config, apply ``edit`` (str -> str), run the server on it."""
    server = make_server(name, start=False)
    text = edit(server.render_config())
    server.config_path.write_text(text)
    return harness.run_server_expecting_exit(server.workdir, server.config_path)


def assert_refused(code: int, out: str, err: str, *needles: str) -> None:
    text = diagnostics(out, err)
    assert code != 0, f"server accepted a bad config (exit {code})\nstdout:\n{out}\nstderr:\n{err}"
    for needle in needles:
        assert needle in text, f"error output does not mention {needle!r}:\nstdout:\n{out}\nstderr:\n{err}"


def test_valid_config_is_accepted(make_server):
    """The harness's config itself is valid: the server starts and answers (so
    the failures below are caused by the one edit each makes)."""
    server = make_server("valid")
    assert server.http("GET", "/v1/sys/seal-status").status == 200


def test_unknown_storage_type(make_server):
    """`storage "nosuch"` is refused, naming the storage type."""
    code, out, err = run_with_config(
        make_server, "bad-storage", lambda c: c.replace('storage "raft"', 'storage "nosuch"')
    )
    assert_refused(code, out, err, "nosuch")


def test_bad_duration(make_server):
    """`max_request_duration = "ten"` is refused, naming the key."""

    def edit(c: str) -> str:
        return c.replace('listener "tcp" {\n', 'listener "tcp" {\n  max_request_duration = "ten"\n')

    code, out, err = run_with_config(make_server, "bad-duration", edit)
    assert_refused(code, out, err, "max_request_duration")


def test_tls_with_missing_certificate(make_server, tmp_path):
    """TLS enabled with a certificate file that does not exist is refused,
    naming the file."""
    cert = tmp_path / "missing-cert.pem"
    key = tmp_path / "missing-key.pem"

    def edit(c: str) -> str:
        return c.replace(
            "  tls_disable = true\n",
            f'  tls_disable = false\n  tls_cert_file = "{cert}"\n  tls_key_file = "{key}"\n',
        )

    code, out, err = run_with_config(make_server, "missing-cert", edit)
    assert_refused(code, out, err, "missing-cert.pem")


def test_hcl_syntax_error(make_server):
    """A config file that is not valid HCL is refused, naming the file."""
    code, out, err = run_with_config(make_server, "syntax", lambda c: c + 'listener "tcp" {\n')
    assert_refused(code, out, err, "server.hcl")


def test_missing_config_file(make_server, tmp_path):
    """-config pointing at a file that does not exist is refused, naming the file."""
    missing = tmp_path / "nope.hcl"
    code, out, err = harness.run_server_expecting_exit(tmp_path, missing)
    assert_refused(code, out, err, "nope.hcl")


def test_no_config_flag(tmp_path):
    """`server` without -config is refused, pointing at the -config flag."""
    code, out, err = harness.run_server_expecting_exit(tmp_path, None)
    assert_refused(code, out, err, "-config")
