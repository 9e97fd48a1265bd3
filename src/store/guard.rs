//! The panic boundary around redb. redb trusts the pages it reads: a damaged page in a file it
//! did not check can make it index past a slice (`btree_base.rs`, `btree_iters.rs`,
//! `types.rs`) or fail a debug assertion (`page_manager.rs` "Malformed allocator state",
//! `btree_base.rs` "Invalid page type byte") instead of returning `StorageError::Corrupted`.
//! Those panics cannot be avoided from outside, so every call into redb that may read a damaged
//! page runs under [`redb_only`] or [`mixed`], which turn such a panic into a message for
//! `StoreError::Damaged`. A panic hook keeps them off stderr while they are being caught (the
//! error says it once, as an error, not as "thread panicked at …"); every other panic is
//! printed by the hook that was there before.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

/// What a guarded call did instead of returning.
pub(crate) enum Caught {
    /// redb panicked; the message names where.
    Redb(String),
    /// Code outside redb panicked (in a caller's closure): not ours to hide.
    Other(Box<dyn Any + Send>),
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Not guarded: the previous hook reports the panic.
    Off,
    /// Only redb runs: whatever panics is redb's doing.
    RedbOnly,
    /// redb and a caller's closure run: a panic is redb's only if it is located in redb.
    Mixed,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Off) };
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mode = MODE.with(Cell::get);
            let ours = match mode {
                Mode::Off => false,
                Mode::RedbOnly => true,
                Mode::Mixed => info.location().is_some_and(|l| in_redb(l.file())),
            };
            if ours {
                CAUGHT.with(|c| *c.borrow_mut() = Some(describe(info)));
            } else {
                previous(info);
            }
        }));
    });
}

/// Whether a panic location is in redb's sources (`…/redb-4.6.0/src/…` from the registry,
/// `…/redb/src/…` when vendored).
fn in_redb(file: &str) -> bool {
    let parts: Vec<&str> = file.split(['/', '\\']).collect();
    parts
        .windows(2)
        .any(|w| (w[0] == "redb" || w[0].starts_with("redb-")) && w[1] == "src")
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    match info.location() {
        Some(l) => {
            // The path from `src/` on: the registry prefix says nothing to an operator.
            let file = l.file();
            let short = file.rfind("/src/").map_or(file, |i| &file[i + 1..]);
            format!(
                "redb stopped on an inconsistency: {msg} (redb {short}:{})",
                l.line()
            )
        }
        None => format!("redb stopped on an inconsistency: {msg}"),
    }
}

fn run<T>(mode: Mode, f: impl FnOnce() -> T) -> Result<T, Caught> {
    install_hook();
    let outer = MODE.with(|m| m.replace(mode));
    CAUGHT.with(|c| c.borrow_mut().take());
    // Unwind safety: on a panic the caller drops everything the closure touched (the
    // transaction, and the database handle, which is marked damaged) and never reads it again.
    let r = catch_unwind(AssertUnwindSafe(f));
    MODE.with(|m| m.set(outer));
    r.map_err(|payload| match CAUGHT.with(|c| c.borrow_mut().take()) {
        Some(msg) => Caught::Redb(msg),
        None => Caught::Other(payload),
    })
}

/// Runs `f`, which calls only into redb; any panic comes back as its message.
pub(crate) fn redb_only<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    run(Mode::RedbOnly, f).map_err(|c| match c {
        Caught::Redb(m) => m,
        // The hook always records in this mode; this is the panic's own payload then.
        Caught::Other(p) => p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "redb panicked".to_owned()),
    })
}

/// Runs `f`, which calls into redb and into a caller's code; a panic located in redb comes
/// back as [`Caught::Redb`], any other as [`Caught::Other`] (the caller re-raises it or fails
/// the work it belonged to).
pub(crate) fn mixed<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    run(Mode::Mixed, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redb_source_paths_are_recognised() {
        assert!(in_redb(
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/redb-4.6.0/src/tree_store/btree_base.rs"
        ));
        assert!(in_redb("vendor/redb/src/db.rs"));
        assert!(!in_redb("src/store/mod.rs"));
        assert!(!in_redb("/x/redbox/src/a.rs"));
        assert!(!in_redb("/rustc/abc/library/core/src/slice/index.rs"));
    }

    #[test]
    fn a_panic_outside_redb_is_not_taken_for_redb_s() {
        match mixed(|| panic!("our own bug")) {
            Err(Caught::Other(p)) => {
                assert_eq!(p.downcast_ref::<&str>().copied(), Some("our own bug"))
            }
            _ => panic!("expected Caught::Other"),
        }
        assert_eq!(redb_only(|| 7), Ok(7));
        assert!(matches!(mixed(|| 8), Ok(8)));
    }
}
