//! The bench's HTTP client: HTTP/1.1 over one kept-alive connection per client thread, each
//! request written with one `write` and each response read by its `Content-Length`.
//!
//! A general client (ureq) spent about a third of the load generator's CPU on request building,
//! connection-pool bookkeeping and parsing each response into JSON; on a two-core machine that
//! CPU is taken from the service being measured. This client does only what HTTP requires.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The most a response may take before the client gives up on it.
const READ_TIMEOUT_SECS: u64 = 30;
/// Responses larger than this are refused (the bench's are about 2 KiB).
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Response headers beyond this count are refused.
const MAX_RESPONSE_HEADERS: usize = 32;

pub(crate) struct RawClient {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    request: Vec<u8>,
    response: Vec<u8>,
    /// Where the last response's body starts in `response`.
    body_start: usize,
}

impl RawClient {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: addr.to_string(),
            stream: None,
            request: Vec::with_capacity(2048),
            response: Vec::with_capacity(8192),
            body_start: 0,
        }
    }

    /// Sends a request and returns the status; the body is read and kept until the next
    /// request (see [`RawClient::body`]). A kept-alive connection the server closed meanwhile
    /// is reopened once: the load's POSTs all carry an `Idempotency-Key`, so sending one again
    /// is safe (the setup's few others would at worst make a second authorisation).
    pub(crate) fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<u16> {
        self.request.clear();
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        )?;
        for (name, value) in headers {
            write!(self.request, "{name}: {value}\r\n")?;
        }
        self.request.extend_from_slice(b"\r\n");
        self.request.extend_from_slice(body);
        let reused = self.stream.is_some();
        // A failed exchange has dropped the connection, so the retry opens a new one.
        match self.exchange() {
            Err(_) if reused => self.exchange(),
            answered => answered,
        }
    }

    /// The body of the last response.
    pub(crate) fn body(&self) -> &[u8] {
        &self.response[self.body_start..]
    }

    fn exchange(&mut self) -> Result<u16> {
        let result = self.exchange_once();
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange_once(&mut self) -> Result<u16> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(Duration::from_secs(READ_TIMEOUT_SECS)))?;
                self.stream.insert(s)
            }
        };
        stream.write_all(&self.request)?;
        self.response.clear();
        self.body_start = 0;
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            self.response.extend_from_slice(&chunk[..n]);
            let mut parsed = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
            let mut response = httparse::Response::new(&mut parsed);
            let httparse::Status::Complete(head_len) = response.parse(&self.response)? else {
                if self.response.len() > MAX_RESPONSE_BYTES {
                    bail!("response headers too large");
                }
                continue;
            };
            let status = response.code.context("a status code")?;
            let mut body_len = None;
            let mut close = false;
            for h in response.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    body_len = Some(std::str::from_utf8(h.value)?.trim().parse::<usize>()?);
                } else if h.name.eq_ignore_ascii_case("connection") {
                    close = h.value.eq_ignore_ascii_case(b"close");
                } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not expected by the bench");
                }
            }
            let total = head_len + body_len.context("a Content-Length")?;
            if total > MAX_RESPONSE_BYTES {
                bail!("response too large");
            }
            while self.response.len() < total {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    bail!("the server closed the connection mid-body");
                }
                self.response.extend_from_slice(&chunk[..n]);
            }
            if close {
                self.stream = None;
            }
            self.response.truncate(total);
            self.body_start = head_len;
            return Ok(status);
        }
    }
}
