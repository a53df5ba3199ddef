//! The network exporters against real servers on 127.0.0.1, with real TLS.

mod construct;
mod grpc;
mod http;
mod loki;
mod remote_write;
mod support;
