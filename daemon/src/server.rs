//! `coffer server`: loads and checks the configuration, then opens storage, binds listeners
//! and serves until SIGINT/SIGTERM. Every configuration error is reported before any port is
//! bound or any key is touched.
use crate::api::listener::{self, Bound};
use crate::api::{tls, Api, Limits};
use crate::core::seal::InitRequest;
use crate::core::{Core, CoreSettings};
use coffer_config::{Config, Listener, LogFormat, LogLevel, Storage};
use coffer_raft::{RaftConfig, RaftStorage};
use coffer_storage::inmem::InmemBackend;
use coffer_storage::Backend;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;

/// How long in-flight requests may run on after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct ServerFlags {
    configs: Vec<PathBuf>,
    dev: bool,
    dev_root_token_id: Option<String>,
    dev_listen_address: Option<String>,
    dev_no_store_token: bool,
    log_level: Option<String>,
    log_format: Option<String>,
}

const USAGE: &str = "Usage: coffer server [options]

  Starts a Coffer server that responds to API requests. With -dev, an in-memory server that is
  already initialized and unsealed, for experimenting only.

Options:
  -config=<path>            A configuration file or directory (repeatable).
  -dev                      Enable development mode.
  -dev-root-token-id=<id>   The root token's value in dev mode.
  -dev-listen-address=<a>   Address of the dev listener (default 127.0.0.1:8200).
  -dev-no-store-token       Do not write the dev root token to ~/.vault-token.
  -log-level=<level>        trace, debug, info, warn or error.
  -log-format=<format>      standard or json.
";

fn parse_flags(args: &[String]) -> Result<ServerFlags, String> {
    let mut f = ServerFlags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "-help" || arg == "--help" {
            return Err(String::new());
        }
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(format!("unexpected argument: {arg}"));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let mut value = |inline: Option<String>| -> Result<String, String> {
            match inline {
                Some(v) => Ok(v),
                None => it.next().cloned().ok_or_else(|| format!("flag needs an argument: -{name}")),
            }
        };
        let boolean = |inline: Option<String>| -> Result<bool, String> {
            match inline.as_deref() {
                None | Some("true") | Some("1") => Ok(true),
                Some("false") | Some("0") => Ok(false),
                Some(v) => Err(format!("invalid boolean value {v:?} for -{name}")),
            }
        };
        match name {
            "config" => f.configs.push(PathBuf::from(value(inline)?)),
            "dev" => f.dev = boolean(inline)?,
            "dev-root-token-id" => f.dev_root_token_id = Some(value(inline)?),
            "dev-listen-address" => f.dev_listen_address = Some(value(inline)?),
            "dev-no-store-token" => f.dev_no_store_token = boolean(inline)?,
            "log-level" => f.log_level = Some(value(inline)?),
            "log-format" => f.log_format = Some(value(inline)?),
            _ => return Err(format!("flag provided but not defined: -{name}")),
        }
    }
    Ok(f)
}

/// Runs `coffer server ARGS`; returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let flags = match parse_flags(args) {
        Ok(f) => f,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("{msg}\n");
            }
            eprint!("{USAGE}");
            return if msg.is_empty() { 0 } else { 1 };
        }
    };
    let dev_token = flags.dev_root_token_id.clone().or_else(|| std::env::var("BAO_DEV_ROOT_TOKEN_ID").ok());
    let config = match load_config(&flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error loading configuration: {e}");
            return 1;
        }
    };
    let level = match flags.log_level.as_deref().or(std::env::var("BAO_LOG_LEVEL").ok().as_deref()) {
        Some(s) => match LogLevel::parse(s) {
            Some(l) => l,
            None => {
                eprintln!("Error: unknown log level {s:?} (use trace, debug, info, warn or error)");
                return 1;
            }
        },
        None => config.log_level.unwrap_or(LogLevel::Info),
    };
    let format = match flags.log_format.as_deref() {
        Some("json") => LogFormat::Json,
        Some("standard") => LogFormat::Standard,
        Some(other) => {
            eprintln!("Error: unknown log format {other:?} (use standard or json)");
            return 1;
        }
        None => config.log_format,
    };
    crate::logging::init(level, format);
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    // TLS material is loaded before anything is bound.
    let mut tls_configs = Vec::new();
    for l in &config.listeners {
        match &l.tls {
            Some(t) => match tls::server_config(t) {
                Ok(c) => tls_configs.push(Some(TlsAcceptor::from(c))),
                Err(e) => {
                    eprintln!("Error initializing listener of type tcp at {}: {e}", l.address);
                    return 1;
                }
            },
            None => tls_configs.push(None),
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("coffer").build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            return 1;
        }
    };
    let dev = flags.dev.then_some(DevOptions { root_token_id: dev_token, store_token: !flags.dev_no_store_token });
    match runtime.block_on(serve(config, tls_configs, dev)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

struct DevOptions {
    root_token_id: Option<String>,
    store_token: bool,
}

fn load_config(flags: &ServerFlags) -> Result<Config, String> {
    if flags.dev {
        let address = flags.dev_listen_address.clone().unwrap_or_else(|| "127.0.0.1:8200".into());
        let src = format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  address = \"{address}\"\n  tls_disable = true\n}}\ndisable_mlock = true\n"
        );
        // Files given with -dev merge onto the dev defaults, as with `bao server -dev -config`.
        return coffer_config::load_onto(&src, "dev-mode", &flags.configs).map_err(|e| e.to_string());
    }
    if flags.configs.is_empty() {
        return Err("no configuration files given: use -config=<path>, or -dev for a development server".into());
    }
    coffer_config::load(&flags.configs).map_err(|e| e.to_string())
}

async fn open_storage(storage: &Storage) -> Result<(Arc<dyn Backend>, Option<Arc<RaftStorage>>), String> {
    match storage {
        Storage::Inmem => Ok((Arc::new(InmemBackend::new()), None)),
        Storage::Raft { path, node_id } => {
            let node_id = node_id.clone().unwrap_or_else(|| "node1".into());
            let raft = RaftStorage::open(RaftConfig { path: path.clone(), node_id })
                .await
                .map_err(|e| format!("opening raft storage at {}: {e}", path.display()))?;
            Ok((raft.clone() as Arc<dyn Backend>, Some(raft)))
        }
    }
}

async fn bind(l: &Listener, tls: Option<TlsAcceptor>) -> Result<Bound, String> {
    let listener = tokio::net::TcpListener::bind(&l.address)
        .await
        .map_err(|e| format!("Error initializing listener of type tcp: listen tcp {}: {e}", l.address))?;
    Ok(Bound {
        listener,
        tls,
        limits: Limits { max_request_size: l.max_request_size, max_request_duration: l.max_request_duration },
    })
}

async fn serve(config: Config, tls_configs: Vec<Option<TlsAcceptor>>, dev: Option<DevOptions>) -> Result<(), String> {
    let auto_seal = crate::seals::from_config(&config.seals).await?;
    let (physical, raft) = open_storage(&config.storage).await?;
    let mut bound = Vec::new();
    for (l, tls) in config.listeners.iter().zip(tls_configs) {
        bound.push(bind(l, tls).await?);
    }
    let first = config.listeners.first();
    let scheme = if first.map(|l| l.tls.is_some()).unwrap_or(false) { "https" } else { "http" };
    let api_addr = config
        .api_addr
        .clone()
        .or_else(|| bound.first().and_then(|b| b.local_addr().ok()).map(|a| format!("{scheme}://{a}")));
    let settings = CoreSettings {
        cluster_name: config.cluster_name.clone(),
        api_addr: api_addr.clone(),
        cluster_addr: config.cluster_addr.clone(),
        raw_storage_endpoint: config.raw_storage_endpoint,
        default_lease_ttl: config.default_lease_ttl,
        max_lease_ttl: config.max_lease_ttl,
    };
    let core = Core::new(physical.clone(), raft, settings);
    let housekeeping = core.spawn_housekeeping();

    print_banner(&config, &bound, physical.kind());
    if let Some(seal) = auto_seal {
        core.set_auto_seal(seal).await;
        spawn_auto_unseal(core.clone());
    }
    if let Some(dev) = &dev {
        start_dev(&core, dev, api_addr.as_deref().unwrap_or("")).await?;
    }

    let api = Arc::new(Api { core: core.clone() });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for b in bound {
        servers.push(tokio::spawn(listener::serve(b, api.clone(), stop_rx.clone(), DRAIN_TIMEOUT)));
    }
    wait_for_shutdown_signal().await;
    tracing::info!("shutdown triggered: draining in-flight requests");
    let _ = stop_tx.send(true);
    for s in servers {
        let _ = s.await;
    }
    housekeeping.abort();
    core.shutdown().await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// Unseals through the auto-seal provider; while it cannot be reached (HSM or KMS down), tries
/// again every few seconds instead of giving up.
fn spawn_auto_unseal(core: Arc<Core>) {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(500);
        loop {
            match core.auto_unseal().await {
                Ok(true) => {
                    tracing::info!("unsealed through the auto-seal provider");
                    return;
                }
                Ok(false) => return,
                // A stored seal of another type needs a migration, not a retry.
                Err(e @ crate::core::CoreError::SealMigrationRequired(_)) => {
                    tracing::error!(error = %e, "auto-unseal impossible");
                    return;
                }
                // HSM or KMS down, wrong PIN, key missing: the node stays sealed, says why in
                // sys/seal-status, and unseals by itself once the provider is back.
                Err(e) => tracing::warn!(error = %e, "auto-unseal failed; retrying in {delay:?}"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    });
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the process can still be stopped by SIGKILL; keep serving.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn print_banner(config: &Config, bound: &[Bound], storage: &str) {
    let mut lines =
        vec![("Version", format!("Coffer v{} (OpenBao API {})", env!("CARGO_PKG_VERSION"), crate::core::API_VERSION))];
    lines.push(("Storage", storage.to_string()));
    for (i, (b, l)) in bound.iter().zip(&config.listeners).enumerate() {
        let addr = b.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| l.address.clone());
        let size = l.max_request_size.map(|s| s.to_string()).unwrap_or_else(|| "unlimited".into());
        lines.push((
            "Listener",
            format!(
                "{} tcp (addr: {addr:?}, max_request_duration: {:?}, max_request_size: {size:?}, tls: {:?})",
                i + 1,
                crate::duration::format_go_duration(l.max_request_duration),
                if l.tls.is_some() { "enabled" } else { "disabled" }
            ),
        ));
    }
    eprintln!("==> Coffer server configuration:\n");
    for (k, v) in lines {
        eprintln!("{k:>24}: {v}");
    }
    eprintln!("\n==> Coffer server started! Log data will stream in below:\n");
}

async fn start_dev(core: &Arc<Core>, dev: &DevOptions, api_addr: &str) -> Result<(), String> {
    let config = coffer_seal::SealConfig::shamir(1, 1).map_err(|e| e.to_string())?;
    let result = core
        .initialize(InitRequest { config, recovery: None, root_token_id: dev.root_token_id.clone() })
        .await
        .map_err(|e| format!("dev mode initialization failed: {e}"))?;
    core.unseal_with_shares(&result.shares).await.map_err(|e| format!("dev mode unseal failed: {e}"))?;
    core.mount_dev_kv().await.map_err(|e| format!("dev mode: mounting secret/ failed: {e}"))?;
    let key = result.shares.first().map(|s| coffer_seal::share_base64(s).expose().to_string()).unwrap_or_default();
    if dev.store_token {
        if let Some(home) = std::env::var_os("HOME") {
            let path = PathBuf::from(home).join(".vault-token");
            if let Err(e) = std::fs::write(&path, result.root_token.expose()) {
                tracing::warn!("could not write the root token to {}: {e}", path.display());
            }
        }
    }
    // The operator asked for these two values: dev mode prints them, as `bao server -dev` does.
    eprintln!(
        "WARNING! dev mode is enabled! In this mode, Coffer runs entirely in-memory
and starts unsealed with a single unseal key. The root token is already
authenticated to the CLI, so you can immediately begin using Coffer.

You may need to set the following environment variables:

    $ export BAO_ADDR='{api_addr}'

The unseal key and root token are displayed below in case you want to
seal/unseal the Vault or re-authenticate.

Unseal Key: {key}
Root Token: {}

Development mode should NOT be used in production installations!
",
        result.root_token.expose()
    );
    Ok(())
}
