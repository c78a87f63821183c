#!/usr/bin/env python3
"""Capture `bao` CLI outputs from a real OpenBao 2.7.2 server as reference data.

Writes ``reference/openbao-2.7.2/cli-*.json``: each file holds the command line,
its exit code and its parsed ``-format=json`` output. Tests compare Coffer's
outputs with these by key set and JSON types (values such as keys, tokens and
timestamps are random). Run: ``E2E_SERVER=openbao python3 capture_cli_reference.py``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import harness


def main() -> int:
    if harness.SERVER_KIND != "openbao":
        print("run with E2E_SERVER=openbao: the reference is OpenBao's behaviour", file=sys.stderr)
        return 2
    out_dir = harness.REFERENCE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = harness.Server(Path(tmp)).start()
        try:

            def capture(name: str, *words: str, note: str = "") -> dict:
                # Go's flag parser stops at the first positional argument, so
                # -format goes right after the (sub)command words.
                cmd = [w for w in words if not w.startswith(("sys/", "value="))]
                cmd = cmd[:2] if cmd[0] == "operator" else cmd[:1]
                args = [*cmd, "-format=json", *words[len(cmd):]]
                cp = server.bao(*args)
                record = {
                    "command": "bao " + " ".join(args),
                    "exit_code": cp.returncode,
                    "output": json.loads(cp.stdout) if cp.stdout.strip() else None,
                }
                if note:
                    record["note"] = note
                (out_dir / f"cli-{name}.json").write_text(json.dumps(record, indent=2) + "\n")
                print(f"cli-{name}.json: exit {cp.returncode}")
                return record

            capture("status-uninitialized", "status", note="exit 2: sealed")
            init = capture("operator-init-5-3", "operator", "init", "-key-shares=5", "-key-threshold=3")
            keys = init["output"]["unseal_keys_b64"]
            server.root_token = init["output"]["root_token"]
            capture("status-sealed", "status", note="exit 2: sealed")
            capture("operator-unseal-progress-1", "operator", "unseal", keys[0])
            capture("operator-unseal-progress-2", "operator", "unseal", keys[1])
            capture("operator-unseal-complete", "operator", "unseal", keys[2])
            server.wait_active()
            capture("status-active", "status", note="after the node became active")
            capture("operator-key-status", "operator", "key-status")
            capture("operator-rotate", "operator", "rotate")
            capture("operator-key-status-after-rotate", "operator", "key-status")
            capture("read-sys-rotate-config", "read", "sys/rotate/config")
            server.bao("write", "sys/raw/some/key", "value=hello")
            capture("read-sys-raw", "read", "sys/raw/some/key", note="after `bao write sys/raw/some/key value=hello`")
        finally:
            server.kill9()
    return 0


if __name__ == "__main__":
    sys.exit(main())
