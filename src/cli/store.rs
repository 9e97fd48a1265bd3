//! `mfagate store …`: the store itself, as opposed to what is in it.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::admin::{self, Request, Sent};
use crate::config::Config;
use crate::store::{CheckReport, Store};

#[derive(Subcommand)]
pub(super) enum StoreCmd {
    /// Run redb's integrity check on the store; exit status 1 when it is damaged.
    ///
    /// Every page's checksum and the allocator state are checked. With mfagate running, the
    /// daemon checks the file it holds (logins pause for the check, about 100 ms per 70 MB);
    /// otherwise this command opens the file itself.
    Check,
}

pub(super) fn store_command(cfg: Config, cmd: StoreCmd) -> anyhow::Result<()> {
    match cmd {
        StoreCmd::Check => check(cfg),
    }
}

fn check(cfg: Config) -> anyhow::Result<()> {
    let rt = super::runtime(None)?;
    // Through the daemon when one runs: it holds redb's lock on the file, which a second
    // open would wait for (and a check must not race the daemon's writes).
    let report = match rt.block_on(admin::call_daemon(&cfg, Request::StoreCheck))? {
        Sent::Answered(Ok(v)) => serde_json::from_value::<CheckReport>(v)?,
        Sent::Answered(Err(e)) => bail!("{e}"),
        Sent::NoDaemon(_) => Store::check_file(&cfg.data_dir)?,
    };
    let mut out = std::io::stdout().lock();
    let how = if report.by_daemon {
        "by the running mfagate"
    } else {
        "mfagate not running"
    };
    if report.repaired {
        writeln!(
            out,
            "{}: repaired: redb found inconsistencies it could fix (such as pages an \
             interrupted write left allocated) and fixed them; no page was damaged \
             ({} bytes, {} ms, {how})",
            report.file, report.bytes, report.took_ms
        )?;
    } else {
        writeln!(
            out,
            "{}: intact ({} bytes, every page checked in {} ms, {how})",
            report.file, report.bytes, report.took_ms
        )?;
    }
    Ok(())
}
