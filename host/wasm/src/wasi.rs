//! WASI for guests, deny-all: no preopened directories, no environment variables or
//! arguments, no sockets or name lookups, stdin closed. Clocks and random work. Whatever the
//! guest writes to stdout or stderr goes to the host log line by line, under the processor's
//! name (a Rust panic message arrives this way).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::host::{GuestLog, LineSource};

/// The WASI context of one instance.
pub(crate) fn deny_all_ctx(log: &Arc<GuestLog>) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(GuestOutput::new(log.clone(), LineSource::Stdout))
        .stderr(GuestOutput::new(log.clone(), LineSource::Stderr))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder.build()
}

/// Longest line kept; the rest of a longer line is dropped.
pub(crate) const MAX_LINE: usize = 4096;

/// A guest output stream that logs complete lines.
#[derive(Clone)]
struct GuestOutput {
    inner: Arc<Mutex<LineBuffer>>,
}

struct LineBuffer {
    log: Arc<GuestLog>,
    source: LineSource,
    line: Vec<u8>,
    /// The current line was over [`MAX_LINE`] and was already logged truncated.
    overflowed: bool,
}

impl GuestOutput {
    fn new(log: Arc<GuestLog>, source: LineSource) -> Self {
        GuestOutput {
            inner: Arc::new(Mutex::new(LineBuffer {
                log,
                source,
                line: Vec::new(),
                overflowed: false,
            })),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        self.inner.lock().write(bytes);
    }
}

impl LineBuffer {
    fn write(&mut self, mut bytes: &[u8]) {
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n') {
            self.append(&bytes[..pos]);
            self.end_line();
            bytes = &bytes[pos + 1..];
        }
        self.append(bytes);
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.overflowed {
            return;
        }
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            self.log_line();
            self.overflowed = true;
        }
    }

    fn end_line(&mut self) {
        if !self.overflowed {
            self.log_line();
        }
        self.overflowed = false;
    }

    /// Logs the buffered line; blank lines are skipped.
    fn log_line(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end();
        if !text.is_empty() {
            self.log.line(self.source, text);
        }
        self.line.clear();
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        if !self.line.is_empty() && !self.overflowed {
            self.log_line();
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Writes never block and never fail: the host log is the sink.
const WRITE_BUDGET: usize = 64 * 1024;

#[async_trait::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> (GuestOutput, Arc<GuestLog>) {
        let log = Arc::new(GuestLog::new("test/proc".into(), None));
        (GuestOutput::new(log.clone(), LineSource::Stderr), log)
    }

    #[test]
    fn logs_complete_lines_and_the_rest_on_drop() {
        let (out, log) = buffer();
        out.write_bytes(b"thread panicked at src/lib.rs:1:1:\nboom");
        assert_eq!(log.lines_logged(), 1);
        out.write_bytes(b" span\n\n");
        assert_eq!(log.lines_logged(), 2, "blank lines are skipped");
        out.write_bytes(b"partial");
        drop(out);
        assert_eq!(log.lines_logged(), 3);
    }

    #[test]
    fn truncates_long_lines_once() {
        let (out, log) = buffer();
        out.write_bytes(&vec![b'x'; MAX_LINE * 3]);
        out.write_bytes(b"tail\nnext\n");
        assert_eq!(log.lines_logged(), 2);
    }
}
