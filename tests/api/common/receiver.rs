//! A webhook receiver for the tests: a plain HTTP listener on loopback that records what
//! arrives and answers as a script says (a status, a delay, a `Retry-After`, or a dropped
//! connection), then 200 once the script is used up.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// This status with `Retry-After: secs`.
    RetryAfter(u16, u64),
    /// Waits this long before answering 200 (past the sender's timeout, say).
    Slow(u64),
    /// Closes the connection without answering (as if it were down).
    Drop,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status it was answered with (`None`: dropped).
    pub answered: Option<u16>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Answer>,
    received: Vec<Received>,
}

pub struct Receiver {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl Receiver {
    /// Listens on a free loopback port, answering `script` first and 200 after.
    pub fn start(script: &[Answer]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            script: script.iter().copied().collect(),
            received: Vec::new(),
        }));
        let s = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        Self { port, shared }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Adds answers to the script.
    pub fn then(&self, answers: &[Answer]) {
        self.shared.lock().unwrap().script.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// The requests answered 2xx.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
            .collect()
    }

    /// Waits (up to a minute) until `n` requests were answered 2xx, and returns them.
    pub fn wait_delivered(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.delivered();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} deliveries arrived: {:?}",
                got.len(),
                self.received()
                    .iter()
                    .map(|r| r.answered)
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (up to a minute) until `n` requests arrived, however they were answered.
    pub fn wait_received(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests arrived",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(mut stream: TcpStream, shared: &Mutex<Shared>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    let answer = shared
        .lock()
        .unwrap()
        .script
        .pop_front()
        .unwrap_or(Answer::Status(200));
    let (status, extra) = match answer {
        Answer::Status(s) => (Some(s), String::new()),
        Answer::RetryAfter(s, secs) => (Some(s), format!("Retry-After: {secs}\r\n")),
        Answer::Slow(secs) => {
            std::thread::sleep(Duration::from_secs(secs));
            (Some(200), String::new())
        }
        Answer::Drop => (None, String::new()),
    };
    // A slow answer counts as not delivered: the sender gave up before it.
    let recorded = match answer {
        Answer::Slow(_) => None,
        _ => status,
    };
    shared.lock().unwrap().received.push(Received {
        headers,
        body,
        answered: recorded,
    });
    if let Some(s) = status {
        let _ = write!(
            stream,
            "HTTP/1.1 {s} X\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n"
        );
    }
}
