//! The command line: `serve`, `check-config`, `user …`, `report auth`, and (in [`cluster`])
//! `cluster …`, `backup`, `restore`. Everything here is
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

mod cluster;
mod print;
mod store;
use cluster::ClusterCmd;
use print::*;
use store::StoreCmd;

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
    /// The store itself: `store check` runs redb's integrity check.
    #[command(subcommand)]
    Store(StoreCmd),
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
    /// List users, optionally only those matching every filter given.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// Only users of this method (totp, sms, push, phone, privacyidea).
        #[arg(long)]
        method: Option<String>,
        /// Only users in this state.
        #[arg(long, value_enum)]
        state: Option<UserState>,
        /// Only users the `[[sync]]` item of this name imported ("" for users added by hand).
        #[arg(long)]
        source: Option<String>,
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
    /// Let the next login with the right password through without the second factor, once,
    /// within the given time (e.g. a user who lost their phone, verified by the helpdesk).
    Bypass {
        name: String,
        /// How long the bypass waits to be used: 30s, 15m, 2h (at most 24h).
        #[arg(long = "for", default_value = "15m")]
        for_: String,
    },
    /// Set the phone number (kept by the sync unless its item says the directory wins).
    SetPhone { name: String, phone: String },
    /// Set the e-mail address and/or display name ("" clears; kept by the sync unless its
    /// item says the directory wins).
    SetContact {
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// The language of the user's mails: en, sv or nl ("" for email.language).
        #[arg(long)]
        language: Option<String>,
    },
    /// E-mail users an invitation to enrol: how they will confirm sign-ins and, with
    /// [portal], a one-time link to enrol there. No user gets two within
    /// email.invite_interval.
    Invite {
        /// The users to invite.
        #[arg(
            required_unless_present = "not_enrolled",
            conflicts_with = "not_enrolled"
        )]
        names: Vec<String>,
        /// Every enabled user without a second factor yet.
        #[arg(long)]
        not_enrolled: bool,
        /// Show who would get one; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
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
    if let Command::Cluster(c) = &cli.command {
        if cluster::certificates(c)? {
            return Ok(());
        }
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
        Command::Serve => serve(cfg, &path),
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
                    format: ListFormat::Json,
                    ..
                }
            );
            let filter = match &cmd {
                UserCmd::List {
                    method,
                    state,
                    source,
                    ..
                } => Some((method.clone(), *state, source.clone())),
                _ => None,
            };
            let req = user_request(cmd)?;
            let print = if json {
                print_json_lines
            } else {
                printer_for(&req)
            };
            let mut v = admin_call(cfg, req)?;
            if let (Some((method, state, source)), Some(users)) = (filter, v.as_array_mut()) {
                users.retain(|u| {
                    method.as_ref().is_none_or(|m| u["method"] == m.as_str())
                        && state.is_none_or(|st| st.holds(u))
                        && source
                            .as_ref()
                            .is_none_or(|src| u["source"].as_str().unwrap_or("") == src)
                });
            }
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
            cluster::cluster_command(cfg, cmd)
        }
        Command::Store(cmd) => {
            init_tracing_cli();
            store::store_command(cfg, cmd)
        }
        Command::Backup { file } => {
            init_tracing_cli();
            cluster::backup(cfg, &file)
        }
        Command::Restore { file, force } => {
            init_tracing_cli();
            cluster::restore(cfg, &file, force)
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
        UserCmd::Bypass { name, for_ } => Request::UserBypass {
            name,
            for_ms: crate::timefmt::parse_duration_ms(&for_)
                .ok_or_else(|| anyhow::anyhow!("--for {for_}: use 30s, 15m, 2h"))?,
        },
        UserCmd::SetPhone { name, phone } => Request::UserSetPhone { name, phone },
        UserCmd::SetContact {
            name,
            email,
            display_name,
            language,
        } => Request::UserSetContact {
            name,
            email,
            display_name,
            language,
        },
        UserCmd::Invite {
            names,
            not_enrolled,
            dry_run,
        } => Request::UserInvite {
            names,
            not_enrolled,
            dry_run,
        },
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

fn serve(cfg: Config, path: &Path) -> anyhow::Result<()> {
    let log_level = init_tracing_daemon(&cfg);
    let cfg = Arc::new(cfg);
    let rt = runtime(Some(0))?;
    rt.block_on(async move {
        let store = open_store_waiting(&cfg).await?;
        let listeners = crate::server::bind(&cfg)?;
        let cancel = CancellationToken::new();
        let clock: SharedClock = Arc::new(SystemClock);
        let mut running = crate::server::start(
            cfg.clone(),
            store.clone(),
            clock,
            listeners,
            cancel.clone(),
        )
        .await?;
        if let Some(set) = log_level {
            running.set_log_level_handle(set);
        }
        tracing::info!(node = %cfg.node_name, data_dir = %cfg.data_dir.display(), "mfagate started");
        let notifier = Arc::new(crate::service::Notifier::from_env());
        notifier.notify(&format!(
            "READY=1\nSTATUS=serving as {}\nMAINPID={}",
            cfg.node_name,
            std::process::id()
        ));
        if let Some(interval) = crate::service::Notifier::watchdog_interval() {
            tokio::spawn(crate::service::watchdog(
                notifier.clone(),
                interval,
                store,
                running.listeners_alive(),
                cancel.clone(),
            ));
        }
        let mut hangups = hangup_signals();
        // One future for the whole run: a SIGTERM that arrives during a reload is kept.
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(()) = next_hangup(&mut hangups) => {
                    // Type=notify: RELOADING=1, then READY=1 whether the new file was taken
                    // or refused (the daemon serves either way; the log says which).
                    notifier.notify("RELOADING=1");
                    let status = match running.reload(path).await {
                        Ok(_) => format!("STATUS=serving as {} (configuration reloaded)", cfg.node_name),
                        Err(e) => format!("STATUS=serving as {}; reload refused: {e}", cfg.node_name),
                    };
                    notifier.notify(&format!("READY=1\n{status}"));
                }
            }
        }
        tracing::info!("shutting down");
        notifier.notify("STOPPING=1");
        cancel.cancel();
        running.join().await;
        crate::admin::AdminListener::cleanup(&cfg);
        Ok(())
    })
}

/// SIGHUP (what `systemctl reload` sends through `ExecReload`); `None` where there is none.
#[cfg(unix)]
fn hangup_signals() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP: live reload is off");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signals() -> Option<()> {
    None
}

#[cfg(unix)]
async fn next_hangup(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Option<()>) -> Option<()> {
    std::future::pending().await
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

/// The filter for a `log.level` value.
fn daemon_filter(level: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    // ldap3_proto logs every undecodable message a client sends at error level: a hostile
    // client could fill the log. The front-end logs those at debug itself, so the codec's own
    // lines are off unless the filter names the crate.
    let level = if level.contains("ldap3_proto") {
        level.to_owned()
    } else {
        format!("{level},ldap3_proto=off")
    };
    tracing_subscriber::EnvFilter::try_new(&level).map_err(|e| e.to_string())
}

/// Installs the daemon's subscriber; returns what sets `log.level` again on a reload (none
/// while `RUST_LOG` overrides the file, which a reload then leaves alone too).
fn init_tracing_daemon(cfg: &Config) -> Option<crate::server::LogLevelHandle> {
    let from_env = tracing_subscriber::EnvFilter::try_from_default_env().ok();
    let by_file = from_env.is_none();
    let filter = from_env
        .or_else(|| daemon_filter(&cfg.log.level).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    // Colour only on a terminal: under systemd or in a file, escape codes are noise.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // The handle's type differs by format, so each branch boxes its own setter.
    let (installed, set): (bool, crate::server::LogLevelHandle) = match cfg.log.format {
        LogFormat::Json => {
            let b = b.json().flatten_event(true).with_filter_reloading();
            let h = b.reload_handle();
            let set = Box::new(move |level: &str| {
                let f = daemon_filter(level)?;
                h.reload(f).map_err(|e| e.to_string())
            });
            (b.try_init().is_ok(), set)
        }
        LogFormat::Text => {
            let b = b.with_filter_reloading();
            let h = b.reload_handle();
            let set = Box::new(move |level: &str| {
                let f = daemon_filter(level)?;
                h.reload(f).map_err(|e| e.to_string())
            });
            (b.try_init().is_ok(), set)
        }
    };
    (installed && by_file).then_some(set)
}
