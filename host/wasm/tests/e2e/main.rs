//! sluice-wasm against real components: the fixture guests in `tests/fixtures/` (built on
//! first use with `cargo build --release --target wasm32-wasip2`).

mod basics;
mod dispatch;
mod faults;
mod load;
mod support;
mod swap;
