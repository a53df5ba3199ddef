//! The SDK natively: wire compatibility with opentelemetry-proto, the bytes-in/bytes-out
//! runtime behind the export macro, and the helpers.

mod helpers;
mod interop;
mod runtime;
