//! The command line: `serve`, `check-config`, `user …` and `report auth`. Everything here is
//! argument handling and printing; the work happens in [`crate::server`] and
//! [`crate::admin::execute`].

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, Request};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, LogFormat, Method};
use crate::store::Store;
use crate::timefmt;

#[derive(Parser)]
#[command(
    name = "mfagate",
    version,
    about = "Multi-factor authentication gateway for RADIUS"
)]
struct Cli {
    /// Configuration file.
    #[arg(
        short,
        long,
        global = true,
        env = "MFAGATE_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve,
    /// Validate the configuration file and exit.
    CheckConfig,
    /// Check the store, the listeners and every domain controller; one line per check.
    Doctor,
    /// Manage users (works whether or not the daemon is running).
    #[command(subcommand)]
    User(UserCmd),
    /// Reports from the authentication log.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Import and sync users from Active Directory ([[sync]] items).
    #[command(subcommand)]
    Sync(SyncCmd),
    /// Write a consistent copy of the store, with its key, to FILE (mode 0600); works while
    /// mfagate runs.
    Backup { file: PathBuf },
    /// Restore a backup into this node's data directory (mfagate stopped).
    Restore {
        file: PathBuf,
        /// Replace a store that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Several nodes as one: certificates, forming and joining a cluster, its status.
    #[command(subcommand)]
    Cluster(ClusterCmd),
}

#[derive(Subcommand)]
enum ClusterCmd {
    /// Write a new cluster CA (ca.pem, and ca.key readable by the owner only) into DIR.
    InitCa {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Issue a node certificate (NODE.pem, NODE.key, and a copy of ca.pem) into DIR.
    IssueCert {
        node: String,
        /// HOST:PORT other nodes reach it at (its cluster.advertise); the host is put in the
        /// certificate.
        #[arg(long)]
        address: String,
        /// The directory holding ca.pem and ca.key.
        #[arg(long, value_name = "DIR")]
        ca: PathBuf,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Make this node, with its directory, a one-node cluster (run it with mfagate stopped;
    /// the next start forms the cluster).
    Init,
    /// Ask the cluster member at ADDRESS to add this node (run it with mfagate stopped; the
    /// directory arrives when mfagate starts).
    Join {
        address: String,
        /// Replace this node's directory (or leave its old cluster) to join.
        #[arg(long)]
        force: bool,
    },
    /// Take a member out of the cluster.
    Remove { node: String },
    /// Disaster recovery: re-form the cluster with this node as its only voter, under a new
    /// epoch, when a majority of voters is gone for good (run it with mfagate stopped). Nodes
    /// of the old epoch are fenced; bring them back with `cluster join --force`.
    Promote {
        /// Required: this overrides the cluster's majority.
        #[arg(long)]
        force: bool,
    },
    /// Every member: role, term, epoch, applied index, lag.
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
}

#[derive(Subcommand)]
enum SyncCmd {
    /// Run the sync now (every item, or one) and print what it added, updated and disabled.
    Run {
        /// Only this [[sync]] item.
        #[arg(long)]
        item: Option<String>,
        /// Compute and print the changes without making them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Allow an item's blocked run (more disables than max_disable) to go ahead once.
    Approve { item: String },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user.
    Add {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Second-factor method (default: factor.default_method).
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
        /// Phone number for SMS codes, e.g. +15550001001.
        #[arg(long)]
        phone: Option<String>,
        /// The [[factor.provider]] for this user's method (default: the one configured for
        /// the method, e.g. factor.sms_provider).
        #[arg(long)]
        provider: Option<String>,
    },
    /// Change a user's second-factor method, phone number and/or provider.
    Set {
        name: String,
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
        #[arg(long)]
        phone: Option<String>,
        /// The [[factor.provider]] for this user's method; "" returns to the configured one.
        #[arg(long)]
        provider: Option<String>,
    },
    /// List users.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Show one user.
    Show { name: String },
    /// Disable a user: every login is rejected, enrolment is kept.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Delete a user and their enrolled authenticator.
    Delete { name: String },
    /// Set the local password.
    SetPassword {
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Enrol a new TOTP authenticator (replaces any previous one) and print its otpauth:// URI.
    EnrollTotp { name: String },
    /// Clear the failed-code counter and lockout.
    Unlock { name: String },
    /// Set the phone number (kept by the sync unless its item says the directory wins).
    SetPhone { name: String, phone: String },
}

#[derive(Subcommand)]
enum ReportCmd {
    /// Authentication decisions.
    Auth {
        /// Start time: a duration back from now (15m, 24h, 7d) or a date/time (2026-11-23,
        /// 2026-11-23T08:00:00Z). Default: 24h.
        #[arg(long, default_value = "24h")]
        since: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
        /// At most this many records.
        #[arg(long, default_value_t = 100_000)]
        limit: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    Totp,
    Sms,
    Push,
    Phone,
    Privacyidea,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Totp => Method::Totp,
            MethodArg::Sms => Method::Sms,
            MethodArg::Push => Method::Push,
            MethodArg::Phone => Method::Phone,
            MethodArg::Privacyidea => Method::Privacyidea,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mfagate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn config_path(cli: &Cli) -> anyhow::Result<&Path> {
    cli.config
        .as_deref()
        .ok_or_else(|| anyhow!("no configuration file: pass -c FILE (or set MFAGATE_CONFIG)"))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Certificates are made before any node has a configuration file.
    if let Command::Cluster(ClusterCmd::InitCa { out }) = &cli.command {
        let f = crate::cluster::certs::init_ca(out)?;
        println!(
            "cluster CA written: {} (certificate) and {} (private key: keep it off the nodes)",
            f.cert.display(),
            f.key.display()
        );
        return Ok(());
    }
    if let Command::Cluster(ClusterCmd::IssueCert {
        node,
        address,
        ca,
        out,
    }) = &cli.command
    {
        let f = crate::cluster::certs::issue_node_cert(node, address, ca, out)?;
        println!(
            "certificate for {node} written: {}, {}, {} (set cluster.cert_file, key_file, ca_file)",
            f.cert.display(),
            f.key.display(),
            f.ca.display()
        );
        return Ok(());
    }
    let path = config_path(&cli)?.to_owned();
    let cfg = Config::load(&path)?;
    match cli.command {
        Command::CheckConfig => {
            for w in &cfg.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: OK (node {}, {} RADIUS listener(s), {} RADIUS client(s), {} LDAP listener(s))",
                path.display(),
                cfg.node_name,
                cfg.radius.as_ref().map_or(0, |r| r.listen.len()),
                cfg.radius.as_ref().map_or(0, |r| r.clients.len()),
                cfg.ldap.as_ref().map_or(0, |l| l.listeners.len()),
            );
            Ok(())
        }
        Command::Serve => serve(cfg),
        Command::Doctor => {
            init_tracing_cli();
            let rt = runtime(None)?;
            let failures =
                rt.block_on(crate::doctor::run(Arc::new(cfg), &mut std::io::stdout()))?;
            if failures > 0 {
                bail!("{failures} check(s) failed");
            }
            Ok(())
        }
        Command::User(cmd) => {
            init_tracing_cli();
            let json = matches!(
                cmd,
                UserCmd::List {
                    format: ListFormat::Json
                }
            );
            let req = user_request(cmd)?;
            let print = if json {
                print_json_lines
            } else {
                printer_for(&req)
            };
            let v = admin_call(cfg, req)?;
            print(&v)
        }
        Command::Sync(cmd) => {
            init_tracing_cli();
            let req = match cmd {
                SyncCmd::Run { item, dry_run } => Request::SyncRun { item, dry_run },
                SyncCmd::Approve { item } => Request::SyncApprove { item },
            };
            let v = admin_call(cfg, req)?;
            print_sync(&v)
        }
        Command::Cluster(cmd) => {
            init_tracing_cli();
            cluster_command(cfg, cmd)
        }
        Command::Backup { file } => {
            init_tracing_cli();
            let v = admin_call(cfg, Request::Backup)?;
            let b: crate::store::Backup = serde_json::from_value(v)?;
            write_private(&file, &serde_json::to_vec(&b)?)?;
            println!(
                "backup written to {} ({} users, {} authentication records{}); it holds the \
                 seed key (the cluster key in a cluster): keep it as safe as the key itself",
                file.display(),
                b.tables.directory.users.len(),
                b.tables.auth_log.len(),
                if b.tables.cluster.is_some() {
                    ", cluster identity"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Restore { file, force } => {
            init_tracing_cli();
            let text =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let b: crate::store::Backup = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not an mfagate backup", file.display()))?;
            b.check().map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let users = store.read(|r| r.user_count())?;
                let clustered = crate::cluster::identity::load(&store)?.is_some();
                if (users > 0 || clustered) && !force {
                    bail!(
                        "the store in {} is not empty ({users} users{}): pass --force to replace it",
                        cfg.data_dir.display(),
                        if clustered { ", a cluster member" } else { "" }
                    );
                }
                let (n, cluster) = (b.tables.directory.users.len(), b.tables.cluster.is_some());
                store.restore(b, crate::cluster::identity::IDENTITY).await?;
                println!(
                    "restored {n} users into {}{}",
                    cfg.data_dir.display(),
                    if cluster {
                        "; it was a cluster member: run `mfagate cluster promote --force` here \
                         to re-form the cluster around this node, start it, then re-join the \
                         others with `mfagate cluster join ADDRESS --force`"
                    } else {
                        ""
                    }
                );
                Ok(())
            })
        }
        Command::Report(ReportCmd::Auth {
            since,
            format,
            limit,
        }) => {
            init_tracing_cli();
            let now = crate::clock::Clock::now_ms(&SystemClock);
            let since_ms = timefmt::parse_duration_ms(&since)
                .map(|d| now.saturating_sub(d))
                .or_else(|| timefmt::parse_rfc3339_ms(&since))
                .ok_or_else(|| anyhow!("--since: \"{since}\" is neither a duration (24h) nor a date (2026-11-23T08:00:00Z)"))?;
            let v = admin_call(cfg, Request::ReportAuth { since_ms, limit })?;
            print_report(&v, format)
        }
    }
}

fn cluster_command(cfg: Config, cmd: ClusterCmd) -> anyhow::Result<()> {
    match cmd {
        ClusterCmd::InitCa { .. } | ClusterCmd::IssueCert { .. } => Ok(()),
        ClusterCmd::Init => {
            if cfg.cluster.is_none() {
                bail!("no [cluster] section in the configuration: add one first (see config/cluster.toml)");
            }
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let id = crate::cluster::identity::init(&store).await?;
                println!(
                    "node {} is now a one-node cluster (cluster {}, node id {}); start mfagate, \
                     then run `mfagate cluster join {}` on each other node",
                    cfg.node_name,
                    id.cluster_id,
                    id.node_id,
                    cfg.cluster.as_ref().map_or("", |c| c.advertise.as_str())
                );
                Ok(())
            })
        }
        ClusterCmd::Join { address, force } => {
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let j = crate::cluster::identity::join(&cfg, &store, &address, force).await?;
                println!(
                    "joined cluster {} as node id {} (leader {}); start mfagate: it receives the \
                     directory from the leader",
                    j.cluster_id, j.node_id, j.leader
                );
                Ok(())
            })
        }
        ClusterCmd::Promote { force } => {
            if !force {
                bail!("cluster promote re-forms the cluster around this node alone and fences the others: run it only when a majority of voters is gone for good, with --force");
            }
            let rt = runtime(None)?;
            rt.block_on(async {
                let store = open_stopped(&cfg)?;
                let id = crate::cluster::identity::promote(&store).await?;
                let others: Vec<&str> = id.fence_targets.iter().map(|n| n.name.as_str()).collect();
                println!(
                    "node {} will start as the only voter of cluster {} in epoch {}; the old \
                     members ({}) are fenced when they come back: re-join each with \
                     `mfagate cluster join {} --force`",
                    cfg.node_name,
                    id.cluster_id,
                    id.epoch,
                    if others.is_empty() {
                        "none".to_owned()
                    } else {
                        others.join(", ")
                    },
                    cfg.cluster.as_ref().map_or("", |c| c.advertise.as_str())
                );
                Ok(())
            })
        }
        ClusterCmd::Remove { node } => {
            print_done(&admin_call(cfg, Request::ClusterRemove { name: node })?)
        }
        ClusterCmd::Status { format } => {
            let v = admin_call(cfg, Request::ClusterStatus)?;
            match format {
                ListFormat::Json => print_json_lines(&v),
                ListFormat::Text => print_cluster_status(&v),
            }
        }
    }
}

/// Opens the store for the daemon. A CLI command run while no daemon is up holds the file for
/// a moment; the daemon waits that out instead of failing to start.
async fn open_store_waiting(cfg: &Config) -> anyhow::Result<Store> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(&cfg.data_dir) {
            Err(crate::store::StoreError::Locked(_)) if std::time::Instant::now() < until => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            r => return Ok(r?),
        }
    }
}

/// Writes `data` to `path`, readable by the owner only (also when the file existed).
fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut f = crate::config::private_file_options()
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// Opens the store for a command that needs mfagate stopped, saying so when it is not.
fn open_stopped(cfg: &Config) -> anyhow::Result<Store> {
    match Store::open(&cfg.data_dir) {
        Ok(s) => Ok(s),
        Err(crate::store::StoreError::Locked(_)) => {
            bail!("mfagate is running on this node: stop it first (systemctl stop mfagate), run this command, then start it again")
        }
        Err(e) => Err(e.into()),
    }
}

fn print_cluster_status(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "node {} ({}), epoch {}, term {}, leader {}, applied {}, users {}, logins decided without a peer's acknowledgement {}",
        s(v, "node"),
        s(v, "role"),
        s(v, "epoch"),
        s(v, "term"),
        s(v, "leader"),
        s(v, "last_applied"),
        s(v, "users"),
        s(v, "decided_without_peer_ack")
    )?;
    if let Some(n) = v.get("note").and_then(Value::as_str) {
        writeln!(out, "{n}")?;
    }
    let peers = v["peers"].as_array().cloned().unwrap_or_default();
    let reach = |name: &str| -> String {
        if name == s(v, "node") {
            return "self".into();
        }
        match peers.iter().find(|p| p["name"] == name) {
            Some(p) if p["reachable"] == true => format!("yes ({} ms)", s(p, "rtt_ms")),
            Some(_) => "NO".into(),
            None => "-".into(),
        }
    };
    writeln!(
        out,
        "{:<20} {:<24} {:<12} {:<6} {:<6} {:<9} {:<16} REACHABLE",
        "MEMBER", "ADDRESS", "ROLE", "TERM", "EPOCH", "APPLIED", "LAG entries/ms"
    )?;
    for m in v["members"].as_array().into_iter().flatten() {
        let name = s(m, "name");
        let peer = peers.iter().find(|p| p["name"] == name.as_str());
        let own = |k: &str| {
            if name == s(v, "node") {
                s(v, k)
            } else {
                peer.map(|p| s(&p["status"], k))
                    .unwrap_or_else(|| "-".into())
            }
        };
        let (applied, term, epoch) = (own("last_applied"), own("term"), own("epoch"));
        let role = peer
            .and_then(|p| p["status"]["role"].as_str().map(str::to_owned))
            .filter(|r| r == "fenced")
            .unwrap_or_else(|| s(m, "role"));
        let role = if peer.is_some_and(|p| p["reachable"] == false) {
            "unreachable".to_owned()
        } else {
            role
        };
        writeln!(
            out,
            "{:<20} {:<24} {:<12} {:<6} {:<6} {:<9} {:<16} {}",
            name,
            s(m, "address"),
            role,
            term,
            epoch,
            applied,
            format!("{}/{}", s(m, "lag_entries"), s(m, "lag_ms")),
            reach(&name)
        )?;
    }
    Ok(())
}

fn init_tracing_cli() {
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
}

fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = match threads {
        Some(_) => tokio::runtime::Builder::new_multi_thread(),
        None => tokio::runtime::Builder::new_current_thread(),
    };
    b.enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn admin_call(cfg: Config, req: Request) -> anyhow::Result<Value> {
    let clock: SharedClock = Arc::new(SystemClock);
    let rt = runtime(None)?;
    match rt.block_on(admin::call(Arc::new(cfg), clock, req))? {
        Ok(v) => Ok(v),
        Err(e) => bail!("{e}"),
    }
}

fn read_password_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_owned();
    if pw.is_empty() {
        bail!("the password read from standard input is empty");
    }
    Ok(pw)
}

fn user_request(cmd: UserCmd) -> anyhow::Result<Request> {
    Ok(match cmd {
        UserCmd::Add {
            name,
            password_stdin,
            method,
            phone,
            provider,
        } => Request::UserAdd {
            phone,
            provider,
            name,
            password: if password_stdin {
                Some(read_password_stdin()?)
            } else {
                None
            },
            method: method.map(Method::from),
        },
        UserCmd::List { .. } => Request::UserList,
        UserCmd::Show { name } => Request::UserShow { name },
        UserCmd::Disable { name } => Request::UserSetEnabled {
            name,
            enabled: false,
        },
        UserCmd::Enable { name } => Request::UserSetEnabled {
            name,
            enabled: true,
        },
        UserCmd::Delete { name } => Request::UserDelete { name },
        UserCmd::SetPassword { name, .. } => Request::UserSetPassword {
            name,
            password: read_password_stdin()?,
        },
        UserCmd::EnrollTotp { name } => Request::UserEnrollTotp { name },
        UserCmd::Unlock { name } => Request::UserUnlock { name },
        UserCmd::SetPhone { name, phone } => Request::UserSetPhone { name, phone },
        UserCmd::Set {
            name,
            method,
            phone,
            provider,
        } => Request::UserSet {
            name,
            method: method.map(Method::from),
            phone,
            provider,
        },
    })
}

type Printer = fn(&Value) -> anyhow::Result<()>;

fn printer_for(req: &Request) -> Printer {
    match req {
        Request::UserList => print_user_list,
        Request::UserShow { .. } => print_fields,
        Request::UserEnrollTotp { .. } => print_enrolment,
        _ => print_done,
    }
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(o) => o.to_string(),
    }
}

/// One JSON object per line (one per array element).
fn print_json_lines(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match v.as_array() {
        Some(items) => {
            for i in items {
                writeln!(out, "{i}")?;
            }
        }
        None => writeln!(out, "{v}")?,
    }
    Ok(())
}

fn print_user_list(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<32} {:<8} {:<6} {:<8} {:<5} LOCKED UNTIL",
        "NAME", "ENABLED", "METHOD", "PASSWORD", "TOTP"
    )?;
    for u in v.as_array().into_iter().flatten() {
        writeln!(
            out,
            "{:<32} {:<8} {:<6} {:<8} {:<5} {}",
            s(u, "name"),
            s(u, "enabled"),
            s(u, "method"),
            s(u, "password_set"),
            s(u, "totp_enrolled"),
            s(u, "locked_until")
        )?;
    }
    Ok(())
}

fn print_fields(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(m) = v.as_object() {
        for k in m.keys() {
            writeln!(out, "{k:<14} {}", s(v, k))?;
        }
    }
    Ok(())
}

fn print_done(v: &Value) -> anyhow::Result<()> {
    if let Some(m) = v.as_object() {
        let parts: Vec<String> = m.iter().map(|(k, _)| format!("{k}: {}", s(v, k))).collect();
        println!("{}", parts.join(", "));
    }
    Ok(())
}

fn print_enrolment(v: &Value) -> anyhow::Result<()> {
    let uri = s(v, "uri");
    let mut out = std::io::stdout().lock();
    // The URI alone on its own line, so scripts can take it with grep.
    writeln!(out, "{uri}")?;
    if std::io::stdout().is_terminal() {
        match qrcode::QrCode::new(uri.as_bytes()) {
            Ok(code) => {
                let img = code
                    .render::<qrcode::render::unicode::Dense1x2>()
                    .dark_color(qrcode::render::unicode::Dense1x2::Light)
                    .light_color(qrcode::render::unicode::Dense1x2::Dark)
                    .quiet_zone(true)
                    .build();
                writeln!(out, "{img}")?;
            }
            Err(e) => writeln!(out, "(cannot draw a QR code: {e})")?,
        }
        writeln!(
            out,
            "Scan the code (or enter the secret from the URI) in an authenticator app.\n\
             This secret is shown once; enrol again to replace it."
        )?;
    }
    Ok(())
}

fn print_sync(v: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(outcomes) = v.as_array() else {
        return print_done(v);
    };
    let mut blocked = false;
    for o in outcomes {
        let list = |k: &str| -> Vec<String> {
            o[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (added, updated, disabled, enabled) = (
            list("added"),
            list("updated"),
            list("disabled"),
            list("enabled"),
        );
        let dry = o["dry_run"].as_bool().unwrap_or(false);
        writeln!(
            out,
            "{}: {} seen, {} {}, {} updated, {} disabled, {} enabled, {} unchanged{}",
            s(o, "item"),
            o["seen"],
            added.len(),
            if dry { "to add" } else { "added" },
            updated.len(),
            disabled.len(),
            enabled.len(),
            o["unchanged"],
            if dry {
                " (dry run: nothing changed)"
            } else {
                ""
            }
        )?;
        for (label, names) in [
            ("add", &added),
            ("update", &updated),
            ("disable", &disabled),
            ("enable", &enabled),
        ] {
            if !names.is_empty() {
                let shown: Vec<&str> = names.iter().take(50).map(String::as_str).collect();
                let more = names.len().saturating_sub(shown.len());
                let tail = if more > 0 {
                    format!(" … and {more} more")
                } else {
                    String::new()
                };
                writeln!(out, "  {label}: {}{tail}", shown.join(", "))?;
            }
        }
        if let Some(b) = o["blocked"].as_str() {
            blocked = true;
            writeln!(out, "  BLOCKED: {b}")?;
        }
    }
    if blocked {
        bail!("a sync item was blocked by max_disable");
    }
    Ok(())
}

fn csv_field(x: &str) -> String {
    // Also defuses spreadsheet formulas (=, +, -, @) in user-controlled fields.
    let risky = x.starts_with(['=', '+', '-', '@']);
    if risky || x.contains([',', '"', '\n', '\r']) {
        let body = if risky { format!("'{x}") } else { x.to_owned() };
        format!("\"{}\"", body.replace('"', "\"\""))
    } else {
        x.to_owned()
    }
}

fn print_report(v: &Value, format: ReportFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let rows = v.as_array().cloned().unwrap_or_default();
    let cols = [
        "time",
        "node",
        "user",
        "client_name",
        "client_ip",
        "method",
        "result",
        "reason",
        "policy",
    ];
    match format {
        ReportFormat::Json => {
            for r in rows {
                let mut r = r;
                if let Some(ms) = r.get("time_ms").and_then(Value::as_u64) {
                    r["time"] = Value::String(timefmt::rfc3339_ms(ms));
                }
                writeln!(out, "{r}")?;
            }
        }
        ReportFormat::Csv => {
            writeln!(out, "{}", cols.join(","))?;
            for r in rows {
                let time = r
                    .get("time_ms")
                    .and_then(Value::as_u64)
                    .map(timefmt::rfc3339_ms)
                    .unwrap_or_default();
                let fields: Vec<String> = std::iter::once(time)
                    .chain(cols[1..].iter().map(|c| match r.get(*c) {
                        Some(Value::Null) | None => String::new(),
                        _ => s(&r, c),
                    }))
                    .map(|f| csv_field(&f))
                    .collect();
                writeln!(out, "{}", fields.join(","))?;
            }
        }
    }
    Ok(())
}

fn serve(cfg: Config) -> anyhow::Result<()> {
    init_tracing_daemon(&cfg);
    let cfg = Arc::new(cfg);
    let rt = runtime(Some(0))?;
    rt.block_on(async move {
        let store = open_store_waiting(&cfg).await?;
        let listeners = crate::server::bind(&cfg)?;
        let cancel = CancellationToken::new();
        let clock: SharedClock = Arc::new(SystemClock);
        let running =
            crate::server::start(cfg.clone(), store, clock, listeners, cancel.clone()).await?;
        tracing::info!(node = %cfg.node_name, data_dir = %cfg.data_dir.display(), "mfagate started");
        shutdown_signal().await;
        tracing::info!("shutting down");
        cancel.cancel();
        running.join().await;
        let _ = std::fs::remove_file(cfg.admin_socket_path());
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn init_tracing_daemon(cfg: &Config) {
    // ldap3_proto logs every undecodable message a client sends at error level: a hostile
    // client could fill the log. The front-end logs those at debug itself, so the codec's own
    // lines are off unless the filter names the crate.
    let level = if cfg.log.level.contains("ldap3_proto") {
        cfg.log.level.clone()
    } else {
        format!("{},ldap3_proto=off", cfg.log.level)
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&level));
    // Colour only on a terminal: under systemd or in a file, escape codes are noise.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match cfg.log.format {
        LogFormat::Json => b.json().flatten_event(true).try_init(),
        LogFormat::Text => b.try_init(),
    };
}
