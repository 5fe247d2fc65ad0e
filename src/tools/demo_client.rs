//! The demo's partner client: requests signed as one partner (RFC 9421), over `ureq`.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::partners::GeneratedKey;

/// Signs and sends requests as one partner.
pub(super) struct Partner<'a> {
    pub(super) base: String,
    pub(super) key: &'a GeneratedKey,
    pub(super) agent: ureq::Agent,
    /// The service's clock: signatures are dated by it, so that they stay valid when the demo
    /// moves the clock ahead.
    pub(super) clock: crate::ledger::clock::Clock,
}

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) replayed: bool,
}

impl Partner<'_> {
    pub(super) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        idem: Option<&str>,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        let text = body.map(Value::to_string);
        let now = self.clock.now_secs();
        let signed = crate::httpsig::sign_request_with(
            &self.key.key,
            self.key.key_id.as_str(),
            method,
            &url,
            text.as_deref().map(str::as_bytes),
            idem,
            now,
        )?;
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Signature-Input", signed.signature_input)
            .header("Signature", signed.signature)
            .header("Content-Type", "application/json");
        if let Some(d) = signed.content_digest {
            request = request.header("Content-Digest", d);
        }
        if let Some(i) = idem {
            request = request.header("Idempotency-Key", i);
        }
        let request = request.body(text.unwrap_or_default().into_bytes())?;
        let mut response = self.agent.run(request)?;
        let replayed = response.headers().contains_key("idempotent-replayed");
        let status = response.status().as_u16();
        let body = response.body_mut().read_json().unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            replayed,
        })
    }

    pub(super) fn post(&self, path: &str, body: Value) -> Result<Answer> {
        self.send(
            "POST",
            path,
            Some(&body),
            Some(&uuid::Uuid::new_v4().to_string()),
        )
    }

    pub(super) fn expect(&self, path: &str, body: Value, status: u16) -> Result<Value> {
        let a = self.post(path, body)?;
        if a.status != status {
            bail!(
                "POST {path}: expected {status}, got {} {}",
                a.status,
                a.body
            );
        }
        Ok(a.body)
    }
}
