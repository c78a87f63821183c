//! Commands that need no server: help, version, usage errors, unreachable servers.

mod common;

use coffer_cli::Env;
use common::coffer;

/// `version` prints "Coffer v<crate version>" and ignores arguments, as bao's does.
#[test]
fn version_prints_crate_version() {
    let expected = format!("Coffer v{}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["version"][..], &["version", "-format=json", "x"], &["-v"], &["--version"]] {
        let o = coffer(&Env::empty(), args);
        assert_eq!((o.code, o.out.as_str(), o.err.as_str()), (0, expected.as_str(), ""), "{args:?}");
    }
}

/// Help goes to stdout with exit 0 when asked for, to stderr with 127 for no or an unknown
/// command, and a bare group prints its subcommands with exit 1.
#[test]
fn help_and_unknown_commands_follow_bao_exit_codes() {
    let o = coffer(&Env::empty(), &["-h"]);
    assert_eq!(o.code, 0);
    assert!(o.out.starts_with("Usage: coffer <command> [args]\n\nCommon commands:\n"));
    assert!(o.out.contains("\n    operator      Perform operator-specific tasks\n"));
    for args in [&[][..], &["bogus"], &["help"]] {
        let o = coffer(&Env::empty(), args);
        assert_eq!(o.code, 127, "{args:?}");
        assert!(o.err.starts_with("Usage: coffer <command> [args]"), "{args:?}");
        assert!(o.out.is_empty());
    }
    let o = coffer(&Env::empty(), &["operator"]);
    assert_eq!(o.code, 1);
    assert!(o.err.contains("\nSubcommands:\n    init          Initializes a server\n    key-status    "));
    let o = coffer(&Env::empty(), &["operator", "init", "x", "-h"]);
    assert_eq!(o.code, 0);
    assert!(o.out.starts_with("Usage: coffer operator init [options]\n"));
    assert!(o.out.contains("\n  -key-shares=<int>\n      Number of key shares"));
    let o = coffer(&Env::empty(), &["read", "--help"]);
    assert_eq!(o.code, 0);
    assert!(o.out.contains("\nHTTP Options:\n\n  -address=<string>\n"));
}

/// Usage errors print Go's flag messages or bao's argument-count messages and exit 1.
#[test]
fn usage_errors_exit_1_with_bao_messages() {
    let cases: &[(&[&str], &str)] = &[
        (&["read", "-bogus", "x"], "flag provided but not defined: -bogus\n"),
        (&["read", "-format"], "flag needs an argument: -format\n"),
        (&["read", "---format=json", "x"], "bad flag syntax: ---format=json\n"),
        (&["read"], "Not enough arguments (expected 1, got 0)\n"),
        (&["list", "a", "b"], "Too many arguments (expected 1, got 2)\n"),
        (&["delete"], "Not enough arguments (expected at least 1, got 0)\n"),
        (&["write", "secret/x"], "Must supply data or use -force\n"),
        (&["status", "extra"], "Too many arguments (expected 0, got 1)\n"),
        (&["operator", "unseal", "a", "b"], "Too many arguments (expected 1, got 2)\n"),
        (&["operator", "seal", "-format=json"], "flag provided but not defined: -format\n"),
        (
            &["operator", "init", "-key-shares=abc"],
            "invalid value \"abc\" for flag -key-shares: strconv.ParseInt: parsing \"abc\": invalid syntax\n",
        ),
        (
            &["status", "-tls-skip-verify=maybe"],
            "invalid boolean value \"maybe\" for -tls-skip-verify: strconv.ParseBool: parsing \"maybe\": invalid syntax\n",
        ),
        (&["status", "-format=bogus"], "Invalid output format: bogus\n"),
        (
            &["read", "x", "-bogus"],
            "Command flags must be provided before positional arguments. The following arguments will not be parsed as flags: [-bogus]\nFailed to parse K=V data: invalid key/value pair \"-bogus\": format must be key=value\n",
        ),
    ];
    for (args, err) in cases {
        let o = coffer(&Env::empty(), args);
        assert_eq!((o.code, o.err.as_str(), o.out.as_str()), (1, *err, ""), "{args:?}");
    }
    let o = coffer(&Env::empty(), &["-format=json", "status"]);
    assert_eq!(o.code, 1);
    assert!(o.err.starts_with("Invalid flags before the subcommand."));
}

/// An unreachable server is reported in Go's words, with bao's exit codes (1 for status,
/// 2 for other commands), and a malformed address fails before any request.
#[test]
fn unreachable_and_malformed_addresses() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let env = Env::empty().with_var("VAULT_ADDR", &format!("http://127.0.0.1:{port}"));
    let o = coffer(&env, &["status"]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.err,
        format!("Error checking seal status: Get \"http://127.0.0.1:{port}/v1/sys/seal-status\": dial tcp 127.0.0.1:{port}: connect: connection refused\n")
    );
    let o = coffer(&env, &["read", "secret/x"]);
    assert_eq!(o.code, 2);
    assert!(o
        .err
        .starts_with(&format!("Error reading secret/x: Get \"http://127.0.0.1:{port}/v1/secret/x\": dial tcp")));
    let o = coffer(&Env::empty(), &["status", "-address=127.0.0.1:8200"]);
    assert_eq!(
        (o.code, o.err.as_str()),
        (1, "failed to create client: parse \"127.0.0.1:8200\": first path segment in URL cannot contain colon\n")
    );
    let o = coffer(&Env::empty(), &["read", "-ca-cert=/nonexistent.pem", "x"]);
    assert_eq!(
        (o.code, o.err.as_str()),
        (2, "failed to setup TLS config: Error loading CA File: open /nonexistent.pem: no such file or directory\n")
    );
}

/// Arbitrary argument lists never panic.
#[test]
fn odd_arguments_do_not_panic() {
    let inputs: &[&[&str]] = &[
        &["--"],
        &["-"],
        &[""],
        &["operator", ""],
        &["operator", "--", "init"],
        &["read", "", ""],
        &["write", "-f", ""],
        &["write", "x", "=", "=="],
        &["read", "-format", "-format"],
        &["list", "-limit=99999999999999999999999", "x"],
        &["status", "-address="],
        &["status", "-address=http://[::1"],
        &["status", "-address=http://\u{e9}:1"],
        &["operator", "unseal", "-reset=é"],
        &["write", "-wrap-ttl=9999999999999999h", "x", "a=b"],
    ];
    let env = Env::empty().with_var("BAO_ADDR", "http://127.0.0.1:1");
    for args in inputs {
        let o = coffer(&env, args);
        assert!(o.code >= 0, "{args:?}");
    }
}
