//! Sluice's memory allocator: mimalloc, with a longer purge delay and a way to give freed memory
//! back to the system on demand.
//!
//! mimalloc returns memory freed by the process to the system ("purges" it) once it has been
//! unused for `purge_delay` (1 s by default). At low load that is most of the buffers a request
//! uses: they are freed, purged before the next request and faulted in again, page by page. Sluice
//! waits [`PURGE_DELAY_MS`] instead (bench/README.md: +3–6% spans per CPU-second on seed 002's
//! production pipeline, for ~15 MiB more resident memory). The memory limiter, which measures
//! the resident set, calls [`give_back`] before it refuses data, so memory kept by the longer
//! delay never makes it refuse.
//!
//! The only unsafe code in Sluice is here: three calls into the C library, each documented.
#![deny(unsafe_code)]

use std::ffi::{c_int, c_long};

pub use mimalloc::MiMalloc;

// Keeps the C library linked into every binary that uses this crate.
use libmimalloc_sys as _;

/// Sluice's purge delay in milliseconds, unless `MIMALLOC_PURGE_DELAY` says otherwise.
pub const PURGE_DELAY_MS: i64 = 10_000;

/// The environment variable mimalloc reads its purge delay from; when set, it wins.
pub const PURGE_DELAY_ENV: &str = "MIMALLOC_PURGE_DELAY";

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (include/mimalloc.h). The binding crate
/// does not export it; `purge_delay_index_is_mimallocs` checks it against mimalloc itself.
const MI_OPTION_PURGE_DELAY: c_int = 15;

#[allow(unsafe_code)]
mod ffi {
    use std::ffi::{c_int, c_long};

    unsafe extern "C" {
        pub fn mi_option_get(option: c_int) -> c_long;
        pub fn mi_option_set(option: c_int, value: c_long);
        pub fn mi_collect(force: bool);
    }
}

/// Set Sluice's purge delay, unless the environment sets one. Call it first thing in `main`,
/// before any other thread exists: mimalloc's option setters are not thread-safe.
pub fn tune() {
    if let Some(delay) = purge_delay_to_set(std::env::var_os(PURGE_DELAY_ENV).is_some()) {
        set_purge_delay_ms(delay);
    }
}

/// The delay [`tune`] sets: none when the environment already chose one.
fn purge_delay_to_set(env_is_set: bool) -> Option<i64> {
    (!env_is_set).then_some(PURGE_DELAY_MS)
}

/// mimalloc's current purge delay in milliseconds (-1: never purge, 0: purge at once).
pub fn purge_delay_ms() -> i64 {
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_get` reads one entry of mimalloc's option table (initialising it from
    // the environment on first use); the index is a valid `mi_option_t` (see the test below).
    let delay = unsafe { ffi::mi_option_get(MI_OPTION_PURGE_DELAY) };
    #[allow(clippy::useless_conversion)] // `c_long` is 32 bits on some targets
    i64::from(delay)
}

fn set_purge_delay_ms(delay: i64) {
    let delay = c_long::try_from(delay).unwrap_or(c_long::MAX);
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` writes one entry of the option table; the index is valid (see
    // the test below). It is not synchronised, which is why `tune` runs before other threads.
    unsafe {
        ffi::mi_option_set(MI_OPTION_PURGE_DELAY, delay)
    };
}

/// Give memory the process no longer uses back to the system now, without waiting for the
/// purge delay: the calling thread's empty pages, and every arena's free memory.
pub fn give_back() {
    #[allow(unsafe_code)]
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time.
    unsafe {
        ffi::mi_collect(true)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHILD: &str = "SLUICE_ALLOC_TEST_CHILD";

    #[test]
    fn the_environment_wins_over_sluices_delay() {
        assert_eq!(purge_delay_to_set(false), Some(PURGE_DELAY_MS));
        assert_eq!(purge_delay_to_set(true), None);
    }

    /// The option index is mimalloc's: a delay given in the environment is what mimalloc
    /// reports for it. Runs in a child process, so that mimalloc reads a known environment.
    #[test]
    fn purge_delay_index_is_mimallocs() {
        if std::env::var_os(CHILD).is_some() {
            assert_eq!(
                purge_delay_ms(),
                4321,
                "option {MI_OPTION_PURGE_DELAY} is not purge_delay"
            );
            set_purge_delay_ms(777);
            assert_eq!(purge_delay_ms(), 777);
            return;
        }
        let exe = std::env::current_exe().expect("test binary path");
        let status = std::process::Command::new(exe)
            .args([
                "--exact",
                "tests::purge_delay_index_is_mimallocs",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env(PURGE_DELAY_ENV, "4321")
            .status()
            .expect("run the test binary");
        assert!(status.success(), "the child test failed: {status}");
    }

    /// This test binary allocates with mimalloc, as Sluice does.
    #[global_allocator]
    static ALLOCATOR: MiMalloc = MiMalloc;

    fn resident_mib() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .expect("resident pages");
        (pages * 4096) >> 20
    }

    /// With Sluice's delay, 64 MiB freed stays resident; `give_back` returns it at once.
    #[test]
    #[cfg(target_os = "linux")]
    fn freed_memory_is_held_until_given_back() {
        set_purge_delay_ms(PURGE_DELAY_MS);
        let big = vec![1u8; 64 << 20];
        let touched = resident_mib();
        drop(big);
        let freed = resident_mib();
        give_back();
        let given_back = resident_mib();
        assert!(
            freed + 8 > touched,
            "freed memory left at once: {touched} MiB -> {freed} MiB"
        );
        assert!(
            given_back + 48 < freed,
            "give_back returned too little: {freed} MiB -> {given_back} MiB"
        );
        // Any thread may ask.
        std::thread::spawn(give_back).join().expect("thread");
    }
}
