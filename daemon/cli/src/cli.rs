//! Command dispatch and help, following bao (`mitchellh/cli` underneath): the output format
//! is taken from anywhere in the arguments before `--`; `-h`/`-help`/`--help` anywhere asks
//! for help; unknown commands print the command list with exit code 127.

use std::io::Write;

use crate::commands::{self, Command, Ui};
use crate::flags::{self, FlagDef, FlagError};
use crate::output::wrap_at_length_with_padding;
use crate::Env;

/// The name the binary is invoked as, in usage texts.
pub(crate) const BIN: &str = "coffer";

/// Output formats this CLI can render.
const FORMATS: &[&str] = &["table", "json"];

/// bao's `setupEnv`: the format from `-format=X`, `--format=X` or `-format X` anywhere before
/// `--` (the last wins), else `BAO_FORMAT`/`VAULT_FORMAT`, else "table"; lower-cased.
pub(crate) fn prescan_format(args: &[String], env: &Env) -> String {
    let mut format = String::new();
    let mut next_is_format = false;
    for arg in args {
        if next_is_format {
            next_is_format = false;
            format = arg.clone();
            continue;
        }
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--format=").or_else(|| arg.strip_prefix("-format=")) {
            format = v.to_string();
        }
        if arg == "-format" || arg == "--format" {
            next_is_format = true;
        }
    }
    if format.is_empty() {
        format = env.bao_var("BAO_FORMAT").unwrap_or_default().to_string();
    }
    let format = format.to_lowercase();
    if format.is_empty() {
        "table".to_string()
    } else {
        format
    }
}

struct Processed {
    help: bool,
    /// Index of the first non-flag argument (the command), if any.
    command_at: Option<usize>,
    /// Flags given before the command.
    top_flags: bool,
}

fn process_args(args: &[String]) -> Processed {
    let mut p = Processed { help: false, command_at: None, top_flags: false };
    for (i, arg) in args.iter().enumerate() {
        if arg == "--" {
            break;
        }
        if arg == "-h" || arg == "-help" || arg == "--help" {
            p.help = true;
            continue;
        }
        if p.command_at.is_none() {
            if arg.starts_with('-') {
                p.top_flags = true;
            } else if !arg.is_empty() {
                p.command_at = Some(i);
            }
        }
    }
    p
}

/// The top-level command list, formatted as bao formats its own.
pub(crate) fn top_help() -> String {
    let common: Vec<(&str, &str)> =
        commands::COMMON.iter().filter_map(|n| commands::synopsis(n).map(|s| (*n, s))).collect();
    let other: Vec<(&str, &str)> =
        commands::OTHER.iter().filter_map(|n| commands::synopsis(n).map(|s| (*n, s))).collect();
    let mut out = format!("Usage: {BIN} <command> [args]\n\nCommon commands:\n");
    out.push_str(&tab_block(&common, 6));
    out.push_str("\nOther commands:\n");
    out.push_str(&tab_block(&other, 6));
    out.trim().to_string()
}

/// Lines "    name<pad>synopsis" with names padded to the longest plus `padding`.
fn tab_block(rows: &[(&str, &str)], padding: usize) -> String {
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0) + padding;
    rows.iter().map(|(n, s)| format!("    {n:<width$}{s}\n")).collect()
}

/// The help of a command group (`operator`, `kv metadata`): its usage text and its direct
/// subcommands, nested groups listed by their own synopsis.
fn group_help(group: &str) -> String {
    let mut subs: Vec<(&str, &str)> = Vec::new();
    for c in commands::ALL {
        let Some(rest) = c.name.strip_prefix(group).and_then(|rest| rest.strip_prefix(' ')) else {
            continue;
        };
        let word = rest.split(' ').next().unwrap_or(rest);
        if subs.iter().any(|(w, _)| *w == word) {
            continue;
        }
        let nested = format!("{group} {word}");
        subs.push((word, commands::synopsis(&nested).unwrap_or(c.synopsis)));
    }
    subs.sort();
    let text = commands::group_usage(group).unwrap_or_default();
    format!("{}\n\nSubcommands:\n{}", text.trim(), tab_block(&subs, 4).trim_end())
}

/// The help of one command: its usage text and its flags, grouped.
pub(crate) fn command_help(cmd: &Command) -> String {
    let mut out = (cmd.usage)().trim().to_string();
    let defs = (cmd.flags)();
    if !defs.is_empty() {
        out.push_str("\n\n");
        out.push_str(&flags_help(&defs));
    }
    out
}

fn flags_help(defs: &[FlagDef]) -> String {
    let mut groups: Vec<flags::Group> = defs.iter().map(|d| d.group).collect();
    groups.sort();
    groups.dedup();
    let mut out = String::new();
    for g in groups {
        out.push_str(g.title());
        out.push_str(":\n\n");
        let mut in_group: Vec<&FlagDef> = defs.iter().filter(|d| d.group == g).collect();
        in_group.sort_by_key(|d| d.name);
        for d in in_group {
            let example = match d.kind {
                flags::Kind::Bool => String::new(),
                flags::Kind::Str => "=<string>".to_string(),
                flags::Kind::Int => "=<int>".to_string(),
                flags::Kind::Duration => "=<duration>".to_string(),
                flags::Kind::KeyValue => "=<key=value>".to_string(),
                flags::Kind::StrSlice => "=<string>".to_string(),
                flags::Kind::BoolPtr => "=<*bool>".to_string(),
                flags::Kind::Uint => "=<uint>".to_string(),
            };
            out.push_str(&format!("  -{}{example}\n", d.name));
            let mut usage = d.usage.split_whitespace().collect::<Vec<_>>().join(" ");
            if !d.aliases.is_empty() {
                let names: Vec<String> = d.aliases.iter().map(|a| format!("\"-{a}\"")).collect();
                usage.push_str(&format!(" This is aliased as {}.", names.join(", ")));
            }
            if !d.default.is_empty() {
                usage.push_str(&format!(" The default is {}.", d.default));
            }
            if let Some(env) = d.env {
                usage.push_str(&format!(" This can also be specified via the {env} environment variable."));
            }
            out.push_str(&wrap_at_length_with_padding(&usage, 6));
            out.push_str("\n\n");
        }
    }
    out.trim_end().to_string()
}

fn line(w: &mut dyn Write, s: &str) {
    let _ = writeln!(w, "{s}");
}

/// Runs `args` and returns the exit code.
pub(crate) fn dispatch(args: &[String], env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let format = prescan_format(args, env);
    if !FORMATS.contains(&format.as_str()) {
        line(err, &format!("Invalid output format: {format}"));
        return 1;
    }
    // bao rewrites a lone version flag to the version command.
    let version_args = ["version".to_string()];
    let args: &[String] = match args {
        [only] if only == "-v" || only == "-version" || only == "--version" => &version_args,
        _ => args,
    };
    let processed = process_args(args);
    let Some(at) = processed.command_at else {
        if processed.help {
            line(out, &top_help());
            return 0;
        }
        line(err, &top_help());
        return 127;
    };
    // The longest command name that the words from `at` spell (as `operator init`).
    let cmd = commands::ALL
        .iter()
        .filter(|c| {
            let words: Vec<&str> = c.name.split(' ').collect();
            args.len() >= at + words.len() && words.iter().enumerate().all(|(j, w)| args[at + j] == *w)
        })
        .max_by_key(|c| c.name.len());
    // The longest group the words from `at` spell (as `kv metadata`).
    let group = commands::GROUPS
        .iter()
        .filter(|g| {
            let words: Vec<&str> = g.name.split(' ').collect();
            args.len() >= at + words.len() && words.iter().enumerate().all(|(j, w)| args[at + j] == *w)
        })
        .max_by_key(|g| g.name.len())
        .map(|g| g.name);
    let Some(cmd) = cmd else {
        if let Some(group) = group {
            // A group without a known subcommand prints its help, as bao does.
            if processed.help {
                line(out, &group_help(group));
                return 0;
            }
            line(err, &group_help(group));
            return 1;
        }
        line(err, &top_help());
        return 127;
    };
    if processed.help {
        line(out, &command_help(cmd));
        return 0;
    }
    if processed.top_flags {
        line(
            err,
            "Invalid flags before the subcommand. If these flags are for\nthe subcommand, please put them after the subcommand.\n",
        );
        line(err, &command_help(cmd));
        return 1;
    }
    let rest = &args[at + cmd.name.split(' ').count()..];
    let mut ui = Ui { out, err, format, stdout_is_terminal: env.stdout_is_terminal() };
    if !cmd.parse_flags {
        return (cmd.run)(&mut ui, env, &flags::Parsed::default());
    }
    let defs = (cmd.flags)();
    let parsed = match flags::parse(&defs, rest) {
        Ok(p) => p,
        Err(FlagError::Help) => {
            ui.error("flag: help requested");
            return 1;
        }
        Err(FlagError::Usage(msg)) => {
            ui.error(&msg);
            return 1;
        }
    };
    if ui.format == "table" {
        if let Some(w) = trailing_flag_warning(&parsed.args) {
            ui.warn(&w);
        }
    }
    (cmd.run)(&mut ui, env, &parsed)
}

/// bao's `generateFlagWarnings`: flags after positional arguments are not parsed as flags.
fn trailing_flag_warning(args: &[String]) -> Option<String> {
    const GLOBAL: &[&str] = &["output-curl-string", "output-policy", "output-profile", "format", "detailed"];
    let trailing: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with('-') && a.as_str() != "-")
        .filter(|a| {
            let trimmed = a.trim_start_matches('-');
            let name = trimmed.split('=').next().unwrap_or("");
            !GLOBAL.contains(&name)
        })
        .map(String::as_str)
        .collect();
    if trailing.is_empty() {
        return None;
    }
    Some(format!(
        "Command flags must be provided before positional arguments. The following arguments will not be parsed as flags: [{}]",
        trailing.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The format comes from anywhere before "--", the last one winning, else the
    /// environment, lower-cased.
    #[test]
    fn format_prescan_matches_bao() {
        let env = Env::empty();
        assert_eq!(prescan_format(&args(&["read", "x"]), &env), "table");
        assert_eq!(prescan_format(&args(&["read", "x", "-format=JSON"]), &env), "json");
        assert_eq!(prescan_format(&args(&["read", "--format", "json", "x"]), &env), "json");
        assert_eq!(prescan_format(&args(&["read", "-format=json", "x", "-format=table"]), &env), "table");
        assert_eq!(prescan_format(&args(&["read", "--", "-format=json"]), &env), "table");
        let env = Env::empty().with_var("VAULT_FORMAT", "json");
        assert_eq!(prescan_format(&args(&["status"]), &env), "json");
        let env = env.with_var("BAO_FORMAT", "table");
        assert_eq!(prescan_format(&args(&["status"]), &env), "table");
    }

    /// Help and command lookup follow mitchellh/cli.
    #[test]
    fn process_args_finds_help_and_command() {
        let p = process_args(&args(&["operator", "init", "x", "-h"]));
        assert!(p.help);
        assert_eq!(p.command_at, Some(0));
        let p = process_args(&args(&["read", "--", "-h"]));
        assert!(!p.help);
        let p = process_args(&args(&["-format=json", "status"]));
        assert!(p.top_flags);
        assert_eq!(p.command_at, Some(1));
    }

    /// Trailing flags are warned about, except bao's global ones and "-".
    #[test]
    fn trailing_flags_warning() {
        assert_eq!(trailing_flag_warning(&args(&["p", "-format=json", "-"])), None);
        assert_eq!(
            trailing_flag_warning(&args(&["p", "--", "-h", "a=b"])).as_deref(),
            Some("Command flags must be provided before positional arguments. The following arguments will not be parsed as flags: [--,-h]")
        );
    }

    /// The command list is aligned like bao's.
    #[test]
    fn top_help_shape() {
        let h = top_help();
        assert!(h.starts_with(
            "Usage: coffer <command> [args]\n\nCommon commands:\n    read        Read data and retrieves secrets\n"
        ));
        assert!(h.contains("\nOther commands:\n    auth          Interact with auth methods\n"));
        assert!(h.contains("\n    operator      Perform operator-specific tasks\n"));
    }
}
