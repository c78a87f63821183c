"""Fixtures for Coffer's end-to-end tests (see README.md).

Every server a fixture starts is killed in the fixture's finalizer, also when
the test fails; ``harness`` additionally kills stragglers at interpreter exit.
When a test fails, the tail of every running server's log is attached to the
report as a "server logs" section.
"""

from __future__ import annotations

import pytest

import harness


def pytest_sessionstart(session):
    """Stop at once, with one clear message, if the server binary is missing."""
    try:
        harness.server_command(None)
        harness.bao_binary()
    except RuntimeError as e:
        pytest.exit(f"e2e: {e}", returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_report_header(config):
    if harness.SERVER_KIND == "coffer":
        try:
            binary = harness.coffer_binary()
        except RuntimeError as e:
            binary = f"NOT FOUND ({e})"
    else:
        binary = harness.bao_binary()
    return [
        f"e2e server: {harness.SERVER_KIND} ({binary})",
        f"bao client: {harness.bao_binary()}",
        f"reference: {harness.REFERENCE_DIR}",
    ]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        tails = [s.log_tail(60) for s in harness.live_servers()]
        if tails:
            report.sections.append(("server logs", "\n\n".join(tails)))


class ServerFactory:
    """Creates servers in fresh temporary directories and owns their cleanup."""

    def __init__(self, tmp_path_factory) -> None:
        self._tmp = tmp_path_factory
        self._servers: list = []

    def __call__(self, name: str = "server", *, start: bool = True, **kw) -> harness.Server:
        """A new :class:`harness.Server` (started unless ``start=False``);
        keyword arguments go to the Server constructor."""
        server = harness.Server(self._tmp.mktemp(name), **kw)
        self._servers.append(server)
        if start:
            server.start()
        return server

    def workdir(self, name: str):
        """A fresh temporary directory (for tests that run a server by hand)."""
        return self._tmp.mktemp(name)

    def cleanup(self) -> None:
        # SIGKILL: teardown speed matters more than a graceful exit here; the
        # graceful path is tested explicitly in test_restart.py.
        for server in self._servers:
            server.kill9()


@pytest.fixture
def make_server(tmp_path_factory):
    """Factory for servers that live for one test."""
    factory = ServerFactory(tmp_path_factory)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="module")
def make_module_server(tmp_path_factory):
    """Factory for servers shared by the tests of one module."""
    factory = ServerFactory(tmp_path_factory)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _kill_stragglers():
    yield
    harness.kill_all()


@pytest.fixture(scope="session")
def ref():
    """Loader for captured OpenBao 2.7.2 samples: ``ref("sys-health-active-200")``."""
    if not harness.REFERENCE_DIR.is_dir():
        pytest.fail(f"reference samples missing: {harness.REFERENCE_DIR}")
    return harness.reference
