//! The demo's webhook receiver: Aroma's "own systems", a small listener on loopback that
//! records what the service delivers, and the check a receiver makes of each delivery
//! (Standard Webhooks `v1a`: Ed25519 by the network key over `{id}.{timestamp}.{body}`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::demo_client::Partner;
use crate::crypto::PublicKey;

/// The most a delivery body may be for this receiver.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// One delivery as it arrived: its three Standard Webhooks headers and its body.
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A listener recording every delivery, answering 204.
pub(super) struct Receiver {
    pub(super) url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    pub(super) fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/coalition-events", listener.local_addr()?);
        let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let sink = got.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                if let Some(d) = read_delivery(&mut stream)
                    && let Ok(mut all) = sink.lock()
                {
                    all.push(d);
                }
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        Ok(Self { url, got })
    }
}

fn read_delivery(stream: &mut std::net::TcpStream) -> Option<Delivery> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_BODY_BYTES {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let length: usize = header("content-length")?.parse().ok()?;
    if length > MAX_BODY_BYTES {
        return None;
    }
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Delivery {
        id: header("webhook-id")?,
        timestamp: header("webhook-timestamp")?,
        signature: header("webhook-signature")?,
        body: String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string(),
    })
}

/// Aroma registers the receiver for its entries and coupons.
pub(super) fn register(aroma: &Partner<'_>, receiver: &Receiver) -> Result<()> {
    let body = json!({ "url": receiver.url, "events": ["entry.posted", "coupon.issued", "coupon.redeemed"] });
    let put = aroma.send("PUT", "/v1/webhooks", Some(&body), None)?;
    println!(
        "   Aroma registers its own systems for events (PUT /v1/webhooks): {} — deliveries signed {}",
        put.status,
        put.body["signing"]["scheme"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// Waits (up to 20 s) until Aroma has no delivery pending.
pub(super) fn drain(aroma: &Partner<'_>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let pending = aroma.send("GET", "/v1/webhooks/deliveries?state=pending", None, None)?;
        if pending.body["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// What Aroma's systems heard, each delivery's signature checked with the JWKS key.
pub(super) fn report(receiver: &Receiver, jwks: &Value) -> Result<()> {
    let x = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap_or(""))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .context("the JWKS key")?;
    let key = PublicKey::from_bytes(x);
    let got = receiver
        .got
        .lock()
        .map_err(|_| anyhow::anyhow!("receiver poisoned"))?;
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut all_verified = !got.is_empty();
    for d in got.iter() {
        let signed = format!("{}.{}.{}", d.id, d.timestamp, d.body);
        all_verified &= d
            .signature
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1a,"))
            .any(|sig| {
                STANDARD
                    .decode(sig)
                    .is_ok_and(|sig| key.verify(signed.as_bytes(), &sig))
            });
        let event: Value = serde_json::from_str(&d.body).unwrap_or(Value::Null);
        *counts
            .entry(event["type"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    println!(
        "   Aroma's own systems heard {} events by webhook: {}",
        got.len(),
        counts
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("   every v1a signature verifies against the JWKS key: {all_verified}");
    Ok(())
}
