#!/usr/bin/env python3
"""Captures OpenBao's ACL decisions for the cases in cases.json into bao-2.7.2-acl.json.

Run against a fresh dev server (the captured file is checked in; this script documents how it
was made):

    bao server -dev -dev-root-token-id=root -dev-listen-address=127.0.0.1:18299 &
    python3 gen.py http://127.0.0.1:18299

For each capability case a token holding exactly the listed policies (no default policy unless
listed) is created, and sys/capabilities is asked about each path. For each request case the
request is made with that token against a KV v1 mount at kv/ and its HTTP status recorded: 403
means the ACL denied it, anything else means the ACL let it through.
"""
import json
import os
import sys
import urllib.error
import urllib.request

ADDR = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18299"
HERE = os.path.dirname(os.path.abspath(__file__))


def call(method, path, token="root", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{ADDR}/v1/{path}", data=data, method=method)
    req.add_header("X-Vault-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def token_for(policies):
    status, body = call("POST", "auth/token/create", body={"policies": policies, "no_default_policy": True})
    assert status == 200, body
    return body["auth"]["client_token"]


def main():
    cases = json.load(open(os.path.join(HERE, "cases.json")))
    call("POST", "sys/mounts/kv", body={"type": "kv", "options": {"version": "1"}})
    for name, text in cases["policies"].items():
        status, body = call("PUT", f"sys/policy/{name}", body={"policy": text})
        assert status == 204, (name, body)
    for path, data in cases.get("seed", {}).items():
        call("PUT", path, body=data)
    out = {"policies": cases["policies"], "capabilities": [], "requests": []}
    for case in cases["capabilities"]:
        tok = token_for(case["policies"])
        for path in case["paths"]:
            status, body = call("POST", "sys/capabilities", body={"token": tok, "paths": [path]})
            assert status == 200, body
            out["capabilities"].append({"policies": case["policies"], "path": path, "capabilities": body["capabilities"]})
    for case in cases["requests"]:
        tok = token_for(case["policies"])
        headers = {"X-Vault-Wrap-TTL": case["wrap_ttl"]} if case.get("wrap_ttl") else {}
        status, _ = call(case["method"], case["path"], token=tok, body=case.get("body"), headers=headers)
        out["requests"].append(dict(case, status=status, allowed=status != 403))
    with open(os.path.join(HERE, "bao-2.7.2-acl.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
