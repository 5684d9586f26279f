#![allow(clippy::print_stdout)]
//! Link the binaries as position-dependent executables on Linux.
//!
//! Every hook call is a new process (PRODUCT.md §11: p50 ≤ 3 ms). A position-independent
//! executable has its ~540 KB of relocated read-only data (vtables, static tables) rewritten by
//! the dynamic loader at every start: about 150 page faults, half a millisecond on a small VM.
//! Linked at a fixed address, those pages are resolved once, at link time. The code itself is still
//! compiled position-independent; only the main binary gives up address randomisation, as Go
//! binaries do by default. Figures: docs/performance.md.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
