//! The property that matters most: for the same server, arguments and environment, coffer
//! prints exactly what the real `bao` CLI prints (stdout, stderr, exit code). Request IDs
//! and other per-request values are masked before comparing.

mod common;

use common::{bao, coffer, mask, BaoServer, Call, Outcome, Twin};

fn same(what: &str, b: &Outcome, c: &Outcome) {
    assert_eq!(c.code, b.code, "exit code of {what}\nbao: {b:?}\ncoffer: {c:?}");
    assert_eq!(mask(&c.out), mask(&b.out), "stdout of {what}");
    assert_eq!(mask(&c.err), mask(&b.err), "stderr of {what}");
}

/// Every client command's output and exit code equal bao's, in table and JSON format,
/// for successes, misses and server errors.
#[test]
fn output_is_byte_identical_to_bao() {
    if !common::bao_available("output_is_byte_identical_to_bao") {
        return;
    }
    let server = BaoServer::dev();
    let home = server.home();
    let home = home.to_string_lossy();
    let cases: &[(&[&str], &str, &[&str])] = &[
        // (args, token, extra env pairs as "K=V")
        (&["status"], "root", &[]),
        (&["status", "-format=json"], "root", &[]),
        (&["read", "sys/mounts/secret"], "root", &[]),
        (&["read", "-format=json", "sys/mounts/secret"], "root", &[]),
        (&["read", "sys/mounts/secret", "-format=json"], "root", &[]),
        (&["read", "-format=json", "sys/mounts/secret", "-format=table"], "root", &[]),
        (&["read", "sys/health"], "root", &[]),
        (&["read", "-format=json", "sys/auth/token/tune"], "root", &[]),
        (&["read", "sys/mounts/secret/tune"], "root", &[]),
        (&["read", "-field=type", "sys/mounts/secret"], "root", &[]),
        (&["read", "-field=nope", "sys/mounts/secret"], "root", &[]),
        (&["read", "sys/nonexistent"], "root", &[]),
        (&["read", "secret/data/missing"], "root", &[]),
        (&["read", "secret/data/x"], "bad-token", &[]),
        (&["read", "-format=json", "secret/data/x"], "bad-token", &[]),
        (&["list", "sys/policies/acl"], "root", &[]),
        (&["list", "-format=json", "sys/policies/acl"], "root", &[]),
        (&["list", "secret/metadata/none"], "root", &[]),
        (&["list", "-format=json", "secret/metadata/none"], "root", &[]),
        (&["list", "secret/metadata"], "bad-token", &[]),
        (&["write", "sys/policies/acl/p", "policy=path \"a/*\" { capabilities = [\"read\"] }"], "root", &[]),
        (&["read", "sys/policies/acl/p"], "root", &[]),
        (&["read", "-format=json", "sys/policies/acl/p"], "root", &[]),
        (&["delete", "sys/policies/acl/p"], "root", &[]),
        (&["delete", "-format=json", "sys/policies/acl/p"], "root", &[]),
        (&["write", "-force", "sys/bogus-path"], "root", &[]),
        (&["write", "secret/data/x", "a=b"], "bad-token", &[]),
        (&["delete", "secret/data/x"], "bad-token", &[]),
        (&["operator", "key-status"], "root", &[]),
        (&["operator", "key-status", "-format=json"], "bad-token", &[]),
        (&["operator", "init", "-status"], "root", &[]),
        (&["operator", "init", "-status", "-format=json"], "root", &[]),
        (&["operator", "init"], "root", &[]),
        (&["operator", "unseal", "-reset"], "root", &[]),
        (&["operator", "rotate"], "bad-token", &[]),
        (&["status"], "root", &["BAO_FORMAT=json"]),
        (&["status"], "root", &["VAULT_FORMAT=JSON"]),
        (&["read", "x", "-bogus"], "root", &[]),
        (&["read", "-format=bogus", "x"], "root", &[]),
        (&["status", "-address=127.0.0.1:8200"], "root", &[]),
        // kv: misses, argument errors, refusals
        (&["kv", "get", "secret/missing"], "root", &[]),
        (&["kv", "get", "-format=json", "secret/missing"], "root", &[]),
        (&["kv", "get", "-mount=secret", "-version=3", "missing"], "root", &[]),
        (&["kv", "get"], "root", &[]),
        (&["kv", "get", "a", "b"], "root", &[]),
        (&["kv", "get", "secret/x"], "bad-token", &[]),
        (&["kv", "list", "secret"], "root", &[]),
        (&["kv", "list", "-format=json", "secret"], "root", &[]),
        (&["kv", "list"], "root", &[]),
        (&["kv", "metadata", "get", "secret/missing"], "root", &[]),
        (&["kv", "metadata", "get", "-format=json", "secret/missing"], "root", &[]),
        (&["kv", "put"], "root", &[]),
        (&["kv", "put", "secret/x"], "root", &[]),
        (&["kv", "put", "secret/x", "novalue"], "root", &[]),
        (&["kv", "put", "secret/x", "a=b"], "bad-token", &[]),
        (&["kv", "patch", "secret/x"], "root", &[]),
        (&["kv", "patch", "secret/missing", "a=b"], "root", &[]),
        (&["kv", "patch", "-method=rw", "secret/missing", "a=b"], "root", &[]),
        (&["kv", "patch", "-method=bogus", "secret/x", "a=b"], "root", &[]),
        (&["kv", "rollback", "secret/x"], "root", &[]),
        (&["kv", "rollback", "-version=0", "secret/x"], "root", &[]),
        (&["kv", "rollback", "-version=1", "secret/missing"], "root", &[]),
        (&["kv", "undelete", "secret/x"], "root", &[]),
        (&["kv", "destroy", "secret/x"], "root", &[]),
        (&["kv", "delete", "secret/x"], "bad-token", &[]),
        (&["kv", "get", "-address=http://127.0.0.1:1", "secret/x"], "root", &[]),
        // policies
        (&["policy", "list"], "root", &[]),
        (&["policy", "list", "-format=json"], "root", &[]),
        (&["policy", "read", "default"], "root", &[]),
        (&["policy", "read", "-format=json", "default"], "root", &[]),
        (&["policy", "read", "missing"], "root", &[]),
        (&["policy", "read"], "root", &[]),
        (&["policy", "delete", "root"], "root", &[]),
        (&["policy", "write", "p"], "root", &[]),
        (&["policy", "write", "p", "/nonexistent"], "root", &[]),
        (&["policy", "list"], "bad-token", &[]),
        (&["policy", "fmt", "/nonexistent"], "root", &[]),
        // tokens
        (&["token", "lookup"], "root", &[]),
        (&["token", "lookup", "-format=json"], "root", &[]),
        (&["token", "lookup", "-field=policies"], "root", &[]),
        (&["token", "lookup", "missing"], "root", &[]),
        (&["token", "lookup", "-accessor"], "root", &[]),
        (&["token", "lookup"], "bad-token", &[]),
        (&["token", "capabilities", "secret/foo"], "root", &[]),
        (&["token", "capabilities", "-format=json", "root", "sys"], "root", &[]),
        (&["token", "capabilities"], "root", &[]),
        (&["token", "capabilities", "a", "b", "c"], "root", &[]),
        (&["token", "create", "x"], "root", &[]),
        (&["token", "create", "-role=missing"], "root", &[]),
        (&["token", "create", "-ttl=bogus"], "root", &[]),
        (&["token", "renew", "a", "b"], "root", &[]),
        (&["token", "revoke"], "root", &[]),
        (&["token", "revoke", "-mode=bogus", "x"], "root", &[]),
        (&["token", "revoke", "-self", "-accessor"], "root", &[]),
        (&["token", "revoke", "-accessor", "-mode=orphan", "x"], "root", &[]),
        // mounts
        (&["secrets", "list"], "root", &[]),
        (&["secrets", "list", "-format=json"], "root", &[]),
        (&["secrets", "list", "-detailed"], "root", &[]),
        (&["secrets", "list", "x"], "root", &[]),
        (&["secrets", "enable", "bogus"], "root", &[]),
        (&["secrets", "disable", "sys"], "root", &[]),
        (&["secrets", "tune", "missing"], "root", &[]),
        (&["secrets", "move", "missing", "missing2"], "root", &[]),
        (&["auth", "list"], "root", &[]),
        (&["auth", "list", "-format=json"], "root", &[]),
        (&["auth", "list", "-detailed"], "root", &[]),
        (&["auth", "enable", "bogus"], "root", &[]),
        (&["auth", "disable", "token"], "root", &[]),
        (&["auth", "tune", "missing"], "root", &[]),
        // leases, unwrap, login refusals
        (&["lease", "lookup", "missing"], "root", &[]),
        (&["lease", "lookup"], "root", &[]),
        (&["lease", "renew", "missing"], "root", &[]),
        (&["lease", "revoke", "-force", "x"], "root", &[]),
        (&["lease", "revoke", "missing"], "root", &[]),
        (&["unwrap", "missing"], "root", &[]),
        (&["unwrap", "a", "b"], "root", &[]),
        (&["login", "-method=bogus", "x"], "root", &[]),
        (&["login", "-no-store", "-no-print", "root"], "root", &[]),
        (&["login", "missing"], "root", &[]),
        (&["login", "-non-interactive"], "root", &[]),
        (&["login", "-method=userpass", "password=x"], "root", &[]),
    ];
    for (args, token, extra) in cases {
        let mut vars: Vec<(String, String)> = vec![
            ("BAO_ADDR".into(), server.addr.clone()),
            ("BAO_TOKEN".into(), token.to_string()),
            ("HOME".into(), home.to_string()),
        ];
        for kv in *extra {
            if let Some((k, v)) = kv.split_once('=') {
                vars.push((k.into(), v.into()));
            }
        }
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let b = bao(&pairs, b"", args);
        let mut env = coffer_cli::Env::empty().with_home(server.home());
        for (k, v) in &pairs {
            env = env.with_var(k, v);
        }
        let c = coffer(&env, args);
        same(&args.join(" "), &b, &c);
    }
}

/// kv v2 data written through `write -` reads back identically with both CLIs, including
/// the read of a deleted version (a 404 that still carries data).
#[test]
fn kv2_round_trip_matches_bao() {
    if !common::bao_available("kv2_round_trip_matches_bao") {
        return;
    }
    let server = BaoServer::dev();
    let vars = [("BAO_ADDR", server.addr.as_str()), ("BAO_TOKEN", "root")];
    let env = || coffer_cli::Env::empty().with_var("BAO_ADDR", &server.addr).with_var("BAO_TOKEN", "root");
    let body = r#"{"data":{"user":"alice","n":1,"tags":["a","b"],"html":"<&>"}}"#;
    let o = coffer(&env().with_stdin(body), &["write", "secret/data/app", "-"]);
    assert_eq!(o.code, 0, "{o:?}");
    for args in [
        &["read", "secret/data/app"][..],
        &["read", "-format=json", "secret/data/app"],
        &["read", "-field=data", "secret/data/app"],
        &["read", "-format=json", "-field=data", "secret/data/app"],
        &["read", "secret/data/app", "version=1"],
        &["list", "secret/metadata"],
        &["delete", "secret/data/app"],
        &["read", "secret/data/app"],
        &["read", "-format=json", "secret/data/app"],
    ] {
        let b = bao(&vars, b"", args);
        let c = coffer(&env(), args);
        // Creation and deletion times are the same data for both reads; only the
        // request IDs differ.
        same(&args.join(" "), &b, &c);
    }
}

/// Every kv command writes, reads and reports like bao's, on kv v2 (with and without
/// `-mount`) and kv v1, including check-and-set refusals, deleted and destroyed versions
/// and metadata; state-changing commands run on twin servers, one per CLI.
#[test]
fn kv_commands_match_bao() {
    if !common::bao_available("kv_commands_match_bao") {
        return;
    }
    let twin = Twin::start();
    twin.same_all(&[
        &["kv", "put", "secret/app", "user=alice", "n=1"],
        &["kv", "put", "-format=json", "secret/app", "user=bob"],
        &["kv", "put", "-mount=secret", "-cas=2", "app", "user=carol", "html=<&>"],
        &["kv", "put", "-cas=1", "secret/app", "user=x"],
        &["kv", "put", "-field=version", "secret/other", "a=b"],
        &["kv", "get", "secret/app"],
        &["kv", "get", "-format=json", "secret/app"],
        &["kv", "get", "-field=user", "secret/app"],
        &["kv", "get", "-field=data", "secret/app"],
        &["kv", "get", "-format=json", "-field=data", "secret/app"],
        &["kv", "get", "-field=missing", "secret/app"],
        &["kv", "get", "-mount=secret", "-version=1", "app"],
        &["kv", "get", "/secret/app"],
        &["kv", "patch", "secret/app", "extra=1"],
        &["kv", "patch", "-format=json", "secret/app", "more=2"],
        &["kv", "patch", "-method=rw", "secret/app", "rw=1"],
        &["kv", "patch", "-method=patch", "-remove-data=rw", "secret/app"],
        &["kv", "patch", "-cas=1", "secret/app", "x=1"],
        &["kv", "rollback", "-version=1", "secret/app"],
        &["kv", "rollback", "-format=json", "-version=2", "secret/app"],
        &["kv", "list", "secret"],
        &["kv", "list", "-format=json", "secret/"],
        &["kv", "list", "-mount=secret"],
        &["kv", "delete", "secret/app"],
        &["kv", "get", "secret/app"],
        &["kv", "get", "-format=json", "secret/app"],
        &["kv", "get", "-field=user", "secret/app"],
        &["kv", "undelete", "-versions=8", "secret/app"],
        &["kv", "delete", "-versions=1,2", "-versions=3", "secret/app"],
        &["kv", "rollback", "-version=1", "secret/app"],
        &["kv", "destroy", "-versions=2", "secret/app"],
        &["kv", "rollback", "-version=2", "secret/app"],
        &["kv", "undelete", "-mount=secret", "-versions=3", "app"],
        &["kv", "metadata", "get", "secret/app"],
        &[
            "kv",
            "metadata",
            "put",
            "-max-versions=5",
            "-custom-metadata=a=b",
            "-cas-required",
            "-delete-version-after=1h",
            "secret/app",
        ],
        &["kv", "metadata", "get", "secret/app"],
        &["kv", "metadata", "get", "-format=json", "secret/app"],
        &["kv", "put", "secret/app", "x=1"],
        &["kv", "metadata", "put", "-cas-required=false", "-mount=secret", "app"],
        &["kv", "metadata", "put", "secret/fresh"],
        &["kv", "metadata", "delete", "secret/app"],
        &["kv", "metadata", "delete", "-mount=secret", "fresh"],
        &["kv", "get", "secret/app"],
        // kv version 1
        &["secrets", "enable", "-version=1", "-path=kv1", "kv"],
        &["kv", "put", "kv1/a", "b=c", "ttl=1h"],
        &["kv", "put", "-format=json", "kv1/a", "b=c"],
        &["kv", "get", "kv1/a"],
        &["kv", "get", "-format=json", "kv1/a"],
        &["kv", "get", "-mount=kv1", "a"],
        &["kv", "get", "-field=b", "kv1/a"],
        &["kv", "list", "kv1"],
        &["kv", "list", "-mount=kv1"],
        &["kv", "patch", "kv1/a", "x=y"],
        &["kv", "rollback", "-version=1", "kv1/a"],
        &["kv", "metadata", "get", "kv1/a"],
        &["kv", "undelete", "-versions=1", "kv1/a"],
        &["kv", "destroy", "-versions=1", "kv1/a"],
        &["kv", "delete", "kv1/a"],
        &["kv", "delete", "-mount=kv1", "a"],
        &["kv", "get", "kv1/a"],
    ]);
    // Data from standard input, as a JSON object and as one value.
    let call = Call { stdin: br#"{"k":"v","n":2}"#, ..Call::default() };
    twin.same(call, &["kv", "put", "secret/stdin", "-"]);
    let call = Call { stdin: b"line\n", ..Call::default() };
    twin.same(call, &["kv", "put", "secret/stdin", "v=-"]);
    twin.same(Call::default(), &["kv", "get", "secret/stdin"]);
}

/// Policies and tokens: writes (from a file and from stdin, with the lower-casing warning),
/// reads, lists, deletes; token creation with every flag, lookups, renewals, capabilities
/// and each kind of revocation.
#[test]
fn policy_and_token_commands_match_bao() {
    if !common::bao_available("policy_and_token_commands_match_bao") {
        return;
    }
    let twin = Twin::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("p.hcl");
    let policy = "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";
    std::fs::write(&file, policy).expect("write policy");
    let file = file.to_string_lossy();
    twin.same(Call::default(), &["policy", "write", "MyPol", &file]);
    twin.same(Call { stdin: policy.as_bytes(), ..Call::default() }, &["policy", "write", "p2", "-"]);
    twin.same(
        Call { stdin: b"path \"x\" { capabilities = [\"bogus\"] }", ..Call::default() },
        &["policy", "write", "bad", "-"],
    );
    twin.same_all(&[
        &["policy", "read", "mypol"],
        &["policy", "read", "-format=json", " MyPol "],
        &["policy", "list"],
        &["policy", "list", "-format=json"],
        &["policy", "delete", "MyPol"],
        &["policy", "read", "mypol"],
        &["token", "create", "-policy=default", "-ttl=1h", "-metadata=a=b", "-display-name=x"],
        &["token", "create", "-format=json", "-orphan", "-period=30m", "-explicit-max-ttl=2h", "-use-limit=3"],
        &["token", "create", "-type=batch", "-ttl=10m", "-no-default-policy", "-policy=p2"],
        &["token", "create", "-policy=missing"],
        &["token", "create", "-field=token", "-policy=missing"],
        &["token", "create", "-format=json", "-field=token_policies", "-policy=p2", "-policy=default"],
        &["token", "create", "-id=tok1", "-policy=default", "-renewable=false"],
        &["token", "create", "-id=tok2", "-ttl=1h"],
        &["token", "create", "-wrap-ttl=2m"],
        &["token", "create", "-wrap-ttl=2m", "-format=json"],
        &["token", "create", "-wrap-ttl=2m", "-field=wrapped_accessor"],
        &["token", "lookup", "tok1"],
        &["token", "lookup", "-format=json", "tok1"],
        &["token", "renew", "tok2"],
        &["token", "renew", "-increment=30m", "tok2"],
        &["token", "renew", "-format=json", "-i=1h", "tok2"],
        &["token", "renew", "tok1"],
        &["token", "capabilities", "tok1", "secret/foo"],
        &["token", "capabilities", "-format=json", "tok1", "sys/mounts"],
        &["token", "revoke", "-mode=orphan", "tok1"],
        &["token", "revoke", "tok2"],
        &["token", "lookup", "tok2"],
        &["token", "revoke", "-mode=path", "auth/userpass"],
    ]);
    // By accessor: each server's own accessor.
    twin.setup(&["token", "create", "-id=tok3", "-ttl=1h"]);
    let (ab, ac) = twin.field_each(&["token", "lookup", "-field=accessor", "tok3"]);
    twin.same_each(Call::default(), &["token", "lookup", "-accessor", &ab], &["token", "lookup", "-accessor", &ac]);
    twin.same_each(Call::default(), &["token", "renew", "-accessor", &ab], &["token", "renew", "-accessor", &ac]);
    twin.same_each(Call::default(), &["token", "revoke", "-accessor", &ab], &["token", "revoke", "-accessor", &ac]);
    // The token's own renewal and revocation.
    twin.setup(&["token", "create", "-id=tok4", "-ttl=1h"]);
    let call = Call { token: Some("tok4"), ..Call::default() };
    twin.same(call, &["token", "renew"]);
    twin.same(call, &["token", "capabilities", "sys/mounts"]);
    twin.same(call, &["token", "revoke", "-self"]);
    twin.same(call, &["token", "lookup"]);
}

/// Secrets engines and auth methods: enable (with options, TTLs and versions), list in
/// every layout, tune, move and disable.
#[test]
fn mount_commands_match_bao() {
    if !common::bao_available("mount_commands_match_bao") {
        return;
    }
    let twin = Twin::start();
    twin.same_all(&[
        &[
            "secrets",
            "enable",
            "-path=kv2",
            "-version=2",
            "-description=hello",
            "-max-lease-ttl=1h",
            "-options=x=y",
            "kv",
        ],
        &["secrets", "enable", "kv"],
        &["secrets", "enable", "-path=kv2", "kv"],
        &["secrets", "enable", "-plugin-version=v1", "-path=kv3", "kv"],
        &["secrets", "list"],
        &["secrets", "list", "-detailed"],
        &["secrets", "list", "-format=json"],
        &["secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", "-description=tuned", "kv2"],
        &[
            "secrets",
            "tune",
            "-default-lease-ttl=system",
            "-listing-visibility=unauth",
            "-passthrough-request-headers=X-A",
            "-audit-non-hmac-request-keys=a",
            "kv2/",
        ],
        &["read", "-format=json", "sys/mounts/kv2/tune"],
        &["secrets", "list", "-detailed"],
        &["secrets", "list", "-format=json"],
    ]);
    // The server may still be migrating at the first poll; bao then waits ten seconds and
    // says so. That line depends on timing, not on the client, and is left out.
    let (b, c) =
        twin.run_each(Call::default(), &["secrets", "move", "kv2", "kv2b"], &["secrets", "move", "kv2", "kv2b"]);
    let settled = |o: &Outcome| Outcome {
        code: o.code,
        out: o
            .out
            .lines()
            .filter(|l| !l.starts_with("Waiting for terminal status"))
            .map(|l| format!("{l}\n"))
            .collect(),
        err: o.err.clone(),
    };
    same("secrets move kv2 kv2b", &settled(&b), &settled(&c));
    twin.same_all(&[
        &["secrets", "disable", "kv2b"],
        &["secrets", "disable", "kv2b/"],
        &["auth", "enable", "userpass"],
        &["auth", "enable", "-path=up2", "-description=d", "-default-lease-ttl=1h", "-token-type=batch", "userpass"],
        &["auth", "enable", "userpass"],
        &["auth", "list"],
        &["auth", "list", "-detailed"],
        &["auth", "list", "-format=json"],
        &[
            "auth",
            "tune",
            "-default-lease-ttl=2h",
            "-user-lockout-threshold=3",
            "-user-lockout-duration=10m",
            "-user-lockout-disable",
            "up2",
        ],
        &["auth", "tune", "-description=x", "-token-type=default-service", "userpass/"],
        &["read", "-format=json", "sys/auth/up2/tune"],
        &["auth", "list", "-format=json"],
        &["auth", "list", "-detailed"],
        &["auth", "disable", "up2"],
        &["auth", "disable", "up2"],
    ]);
}

/// Logging in with a token and with userpass stores the token in `~/.vault-token` as bao
/// does; responses wrapped with `-wrap-ttl` (read, write, list, kv, token create, login)
/// unwrap alike; leases are looked up, renewed and revoked alike.
#[test]
fn login_wrap_and_lease_commands_match_bao() {
    if !common::bao_available("login_wrap_and_lease_commands_match_bao") {
        return;
    }
    let twin = Twin::start();
    twin.setup(&["auth", "enable", "userpass"]);
    twin.setup(&["write", "auth/userpass/users/bob", "password=pw", "policies=default"]);
    let none = Call { token: None, ..Call::default() };
    for args in [
        &["login", "root"][..],
        &["login", "-format=json", "root"],
        &["login", "-method=userpass", "username=bob", "password=pw"],
        &["login", "-method=userpass", "-format=json", "username=bob", "password=pw"],
        &["login", "-method=userpass", "-path=userpass", "username=bob", "password=bad"],
        &["login", "-method=userpass", "username=bob"],
        &["login", "-method=userpass", "-non-interactive", "username=bob"],
        &["login", "-no-store", "root"],
        &["login", "-token-only", "root"],
        &["login", "-no-print", "root"],
        &["login", "-field=token_policies", "root"],
        &["login", "token=root", "lookup=false"],
        &["login", "root", "lookup=maybe"],
        &["login"],
        &["login", "-wrap-ttl=1m", "-method=userpass", "username=bob", "password=pw"],
        &["login", "-wrap-ttl=1m", "-no-store", "-method=userpass", "username=bob", "password=pw"],
        &["login", "-wrap-ttl=1m", "-token-only", "-method=userpass", "username=bob", "password=pw"],
    ] {
        twin.same(none, args);
        let stored = |s: &BaoServer| mask(&std::fs::read_to_string(s.home().join(".vault-token")).unwrap_or_default());
        assert_eq!(stored(&twin.coffer), stored(&twin.bao), "token file after `{}`", args.join(" "));
    }
    twin.same(Call { stdin: b"root\n", ..none }, &["login", "-"]);
    twin.same(Call { token: Some("root"), ..none }, &["login", "root"]);
    // Wrapped responses.
    twin.same_all(&[
        &["kv", "put", "secret/foo", "a=b"],
        &["read", "-wrap-ttl=5m", "sys/mounts/secret"],
        &["read", "-format=json", "-wrap-ttl=5m", "sys/mounts/secret"],
        &["write", "-wrap-ttl=1m", "-field=wrapping_token_ttl", "sys/wrapping/wrap", "a=b"],
        &["write", "-format=json", "-wrap-ttl=90s", "sys/wrapping/wrap", "a=b"],
        &["list", "-wrap-ttl=1m", "secret/metadata"],
        &["kv", "get", "-wrap-ttl=1m", "secret/foo"],
        &["kv", "list", "-wrap-ttl=1m", "secret"],
        &["kv", "put", "-wrap-ttl=1m", "secret/foo", "a=c"],
    ]);
    let unwrap_each = |setup: &[&str], token: Option<&str>, format: &str| {
        let (wb, wc) = twin.field_each(setup);
        let call = Call { token, ..Call::default() };
        twin.same_each(call, &["unwrap", format, &wb], &["unwrap", format, &wc]);
    };
    for format in ["-format=table", "-format=json"] {
        unwrap_each(&["write", "-field=wrapping_token", "sys/wrapping/wrap", "a=b", "x=1"], Some("root"), format);
        unwrap_each(&["write", "-field=wrapping_token", "sys/wrapping/wrap", "a=b"], None, format);
        unwrap_each(&["token", "create", "-wrap-ttl=1m", "-field=wrapping_token"], Some("root"), format);
        let (lb, lc) = twin.field_each(&["list", "-wrap-ttl=1m", "-format=json", "secret/metadata"]);
        let token = |s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).expect("wrapped list");
            v["wrap_info"]["token"].as_str().unwrap_or_default().to_string()
        };
        let call = Call { token: None, ..Call::default() };
        twin.same_each(call, &["unwrap", format, &token(&lb)], &["unwrap", format, &token(&lc)]);
        let (kb, kc) = twin.field_each(&["kv", "get", "-wrap-ttl=1m", "-format=json", "secret/foo"]);
        twin.same_each(Call::default(), &["unwrap", format, &token(&kb)], &["unwrap", format, &token(&kc)]);
    }
    // A wrapping token given as the client token unwraps itself.
    let (wb, wc) = twin.field_each(&["write", "-field=wrapping_token", "sys/wrapping/wrap", "a=b"]);
    twin.same_each(Call::default(), &["unwrap", "-field=a", &wb], &["unwrap", "-field=a", &wc]);
    let (wb, wc) = twin.field_each(&["write", "-field=wrapping_token", "sys/wrapping/wrap", "a=b"]);
    let b = bao(&[("BAO_ADDR", &twin.bao.addr), ("BAO_TOKEN", &wb)], b"", &["unwrap"]);
    let env = coffer_cli::Env::empty().with_var("BAO_ADDR", &twin.coffer.addr).with_var("BAO_TOKEN", &wc);
    let c = coffer(&env, &["unwrap"]);
    same("unwrap with the wrapping token as the client token", &b, &c);
    // Leases: the lease of carol's only login, looked up by each server's own lease ID.
    twin.setup(&["write", "auth/userpass/users/carol", "password=pw"]);
    twin.setup(&["write", "auth/userpass/login/carol", "password=pw"]);
    let (lb, lc) = twin.field_each(&["list", "-format=json", "sys/leases/lookup/auth/userpass/login/carol/"]);
    let first = |s: &str| {
        let keys: Vec<String> = serde_json::from_str(s).expect("lease list");
        assert_eq!(keys.len(), 1, "one lease expected: {keys:?}");
        format!("auth/userpass/login/carol/{}", keys[0])
    };
    let (lb, lc) = (first(&lb), first(&lc));
    for args in [
        &["lease", "lookup"][..],
        &["lease", "lookup", "-format=json"],
        &["lease", "renew", "-increment=1h"],
        &["lease", "renew", "-format=json"],
        &["lease", "revoke", "-sync"],
        &["lease", "revoke", "-prefix"],
        &["lease", "revoke", "-sync", "-prefix"],
        &["lease", "revoke", "-force", "-prefix"],
        &["lease", "revoke"],
    ] {
        let mut b_args = args.to_vec();
        b_args.push(&lb);
        let mut c_args = args.to_vec();
        c_args.push(&lc);
        twin.same_each(Call::default(), &b_args, &c_args);
    }
}

/// `policy fmt` rewrites files exactly as bao does and refuses invalid policies with its
/// messages; the sources cover comments of every kind, alignment, lists and blocks.
#[test]
fn policy_fmt_matches_bao() {
    if !common::bao_available("policy_fmt_matches_bao") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("policy.hcl");
    let path = file.to_string_lossy().to_string();
    let sources = [
        "# comment at top\npath \"secret/*\" {\ncapabilities = [\"read\",\"list\"]\n}\npath \"sys/mounts\" { capabilities = [\"read\"]   # trailing\n  }\n",
        "path \"a\" { capabilities = [\"read\"] }\npath \"b\" { capabilities = [\"read\"] }\n",
        "# lead\npath \"a\" {\n  # inner lead\n  capabilities = [\"read\"] # line\n  min_wrapping_ttl = \"1s\" // x\n  max_wrapping_ttl = \"100s\"\n\n  # standalone\n\n  denied_parameters = {\n    \"x\" = []\n  }\n}\n# trailing comment\n",
        "path \"a\" {\n  capabilities = [\"read\", # c1\n  \"list\", /* c2 */\n  ]\n}\n",
        "path \"a\" {\n  capabilities = [\n    # lead\n    \"read\",\n  ]\n}\n",
        "path \"a\" {}\n\npath \"b\" {}\npath \"c\" {\n}\n",
        "path \"a\" {\n  allowed_parameters = {\n    \"a\" = [\"x\"]\n    \"bb\" = []\n  }\n  capabilities = [\"read\"]\n}\n",
        "path \"x\" {\r\n  capabilities = [\"read\"]\r\n}\r\n",
        "",
        "path \"a\" {\n  capabilities = [\"foo\"]\n}\n",
        "path \"a\" {\n  bogus = [\"read\"]\n  bogus2 = 1\n}\n",
        "bogus \"a\" {\n  capabilities = [\"read\"]\n}\n",
        "path \"a\" {\n  capabilities = [\"read\"\n}\n",
        "path \"a\" { capabilities = \"read\" }\n",
        "path \"a\" {\n  capabilities = [\"read\"]\n  capabilities = [\"list\"]\n}\n",
        "path \"a\" {\n  min_wrapping_ttl = \"10s\"\n  max_wrapping_ttl = \"1s\"\n}\n",
        "a = \"unterminated\n",
    ];
    for src in sources {
        std::fs::write(&file, src).expect("write");
        let b = bao(&[], b"", &["policy", "fmt", &path]);
        let b_file = std::fs::read_to_string(&file).expect("read");
        std::fs::write(&file, src).expect("write");
        let c = coffer(&coffer_cli::Env::empty(), &["policy", "fmt", &path]);
        let c_file = std::fs::read_to_string(&file).expect("read");
        same(&format!("policy fmt of {src:?}"), &b, &c);
        assert_eq!(c_file, b_file, "formatted {src:?}");
    }
}
