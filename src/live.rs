//! A value that a reload replaces while requests still use the old one.
//!
//! Each request takes the current `Arc` once, at its start, and keeps it to its end: a push
//! waiting on a phone finishes under the pipeline (providers, upstream groups, policies) it
//! started with, and the old value is dropped when its last request ends. A lock held only
//! for the clone of an `Arc` never waits on I/O, so a std `RwLock` is enough.

use std::sync::{Arc, RwLock};

pub struct Live<T> {
    current: RwLock<Arc<T>>,
}

impl<T> Live<T> {
    pub fn new(value: Arc<T>) -> Self {
        Self {
            current: RwLock::new(value),
        }
    }

    /// The value new requests use now.
    pub fn get(&self) -> Arc<T> {
        // A writer that panicked left a whole `Arc` behind (the swap is one assignment).
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces it for requests that start from now on; returns the old one.
    pub fn set(&self, value: Arc<T>) -> Arc<T> {
        let mut w = self.current.write().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *w, value)
    }
}

impl<T> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live(..)")
    }
}
