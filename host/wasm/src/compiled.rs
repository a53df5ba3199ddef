//! Compiled components shared by every processor version that runs the same bytes: a hundred
//! tenants each running their own `transform` configuration compile the transform guest once
//! and share its machine code and linked `InstancePre`. Each instance still gets its own store
//! (memory, tables, globals), so nothing a trap can poison is shared.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use crate::bindings;
use crate::instance::StoreState;

/// A component compiled and linked against Sluice's host: what every instance is created from.
pub(crate) struct Compiled {
    pub(crate) pre: bindings::GuestPre<StoreState>,
}

/// Why a component could not be compiled or linked.
pub(crate) enum CompileError {
    /// Not a valid component.
    Compile(String),
    /// A valid component whose imports or exports do not fit the host.
    Link(String),
}

/// Compiled components by SHA-256 of their bytes. Entries are weak: a component no processor
/// version uses any more is freed, and compiled again if it comes back.
#[derive(Default)]
pub(crate) struct Cache {
    by_digest: Mutex<HashMap<[u8; 32], Weak<Compiled>>>,
}

impl Cache {
    /// The compiled form of `bytes`, compiled and linked now unless a live version already
    /// holds it. Compiling happens outside the lock; two loads of new bytes at once may both
    /// compile, and one result is kept.
    pub(crate) fn get_or_compile(
        &self,
        engine: &wasmtime::Engine,
        linker: &Linker<StoreState>,
        bytes: &[u8],
    ) -> Result<Arc<Compiled>, CompileError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(found) = self.by_digest.lock().get(&digest).and_then(Weak::upgrade) {
            return Ok(found);
        }
        let component =
            Component::new(engine, bytes).map_err(|e| CompileError::Compile(format!("{e:#}")))?;
        let link = |e: wasmtime::Error| CompileError::Link(format!("{e:#}"));
        let pre = linker.instantiate_pre(&component).map_err(link)?;
        let compiled = Arc::new(Compiled {
            pre: bindings::GuestPre::new(pre).map_err(link)?,
        });
        let mut by_digest = self.by_digest.lock();
        by_digest.retain(|_, weak| weak.strong_count() > 0);
        by_digest.insert(digest, Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// Components compiled and still in use (for tests and diagnostics).
    pub(crate) fn live(&self) -> usize {
        self.by_digest
            .lock()
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}
