//! HTTP Message Signatures (RFC 9421) with Ed25519, and `Content-Digest` (RFC 9530): the
//! signature base, verification and signing, independent of any web framework.

pub mod sfv;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::digest;

use crate::crypto::{PublicKey, SigningKey};
use sfv::{Bare, Item, Member, Params};

/// How far a signature's `created` may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// The most components one signature may cover.
pub const MAX_COMPONENTS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("the request carries no Signature-Input and Signature headers")]
    Missing,
    #[error("signature headers are malformed: {0}")]
    Malformed(String),
    #[error("signature is outside its validity window: {0}")]
    Expired(String),
    #[error("unknown key id {0}")]
    UnknownKey(String),
    #[error("signature does not verify: {0}")]
    Invalid(String),
    #[error("Content-Digest does not match the body: {0}")]
    DigestMismatch(String),
}

/// The request as the verifier sees it. Header names are lower case; a name may repeat.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub method: &'a str,
    pub scheme: &'a str,
    /// `host[:port]`, lower case.
    pub authority: &'a str,
    pub path: &'a str,
    /// Without the leading `?`.
    pub query: Option<&'a str>,
    pub headers: &'a [(String, String)],
}

impl Message<'_> {
    pub fn target_uri(&self) -> String {
        let path = if self.path.is_empty() { "/" } else { self.path };
        match self.query {
            Some(q) => format!("{}://{}{path}?{q}", self.scheme, self.authority),
            None => format!("{}://{}{path}", self.scheme, self.authority),
        }
    }

    /// A field's value: every line of it, trimmed, joined with `, ` (RFC 9421 section 2.1).
    pub fn field(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

/// One signature from the `Signature-Input` and `Signature` headers.
#[derive(Debug, Clone)]
pub struct Signature {
    pub label: String,
    pub components: Vec<Item>,
    pub params: Params,
    pub value: Vec<u8>,
}

impl Signature {
    fn param(&self, key: &str) -> Option<&Bare> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn keyid(&self) -> Option<&str> {
        match self.param("keyid") {
            Some(Bare::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn created(&self) -> Option<i64> {
        match self.param("created") {
            Some(Bare::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn expires(&self) -> Option<i64> {
        match self.param("expires") {
            Some(Bare::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn alg(&self) -> Option<&str> {
        match self.param("alg") {
            Some(Bare::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The names of the covered components (`@method`, `content-digest`, ...).
    pub fn covers(&self, name: &str) -> bool {
        self.components
            .iter()
            .any(|c| matches!(&c.bare, Bare::String(s) if s == name))
    }

    /// The serialised `@signature-params` value.
    pub fn params_value(&self) -> String {
        sfv::serialize_inner_list(&self.components, &self.params)
    }
}

/// Every signature whose label appears in both headers, in `Signature-Input` order. A label that
/// appears twice in either (in one line, or across lines the caller joined) is refused: which of
/// the two counts must never depend on a reader's choice.
pub fn parse(signature_input: &str, signature: &str) -> Result<Vec<Signature>, SigError> {
    let bad = |e: sfv::SfError| SigError::Malformed(e.to_string());
    let inputs = sfv::parse_dictionary_unique(signature_input).map_err(bad)?;
    let values = sfv::parse_dictionary_unique(signature).map_err(bad)?;
    let mut out = Vec::new();
    for (label, member) in inputs {
        let Member::InnerList(components, params) = member else {
            return Err(SigError::Malformed(format!(
                "Signature-Input member {label} is not an inner list"
            )));
        };
        if components.len() > MAX_COMPONENTS {
            return Err(SigError::Malformed(format!(
                "more than {MAX_COMPONENTS} covered components"
            )));
        }
        let value = values.iter().find(|(l, _)| *l == label).map(|(_, m)| m);
        let Some(Member::Item(Item {
            bare: Bare::Bytes(bytes),
            ..
        })) = value
        else {
            continue;
        };
        out.push(Signature {
            label,
            components,
            params,
            value: bytes.clone(),
        });
    }
    if out.is_empty() {
        return Err(SigError::Malformed(
            "no label is present in both Signature-Input and Signature".into(),
        ));
    }
    Ok(out)
}

fn component_value(msg: &Message<'_>, component: &Item) -> Result<String, SigError> {
    let Bare::String(name) = &component.bare else {
        return Err(SigError::Malformed(
            "component identifiers are strings".into(),
        ));
    };
    let only = |allowed: &[&str]| {
        component
            .params
            .iter()
            .all(|(k, _)| allowed.contains(&k.as_str()))
    };
    if name.starts_with('@') {
        let plain = only(&[]);
        let value = match name.as_str() {
            "@method" if plain => msg.method.to_owned(),
            "@target-uri" if plain => msg.target_uri(),
            "@authority" if plain => msg.authority.to_owned(),
            "@scheme" if plain => msg.scheme.to_ascii_lowercase(),
            "@path" if plain => {
                if msg.path.is_empty() {
                    "/".into()
                } else {
                    msg.path.to_owned()
                }
            }
            "@query" if plain => format!("?{}", msg.query.unwrap_or("")),
            "@request-target" if plain => match msg.query {
                Some(q) => format!("{}?{q}", msg.path),
                None => msg.path.to_owned(),
            },
            "@query-param" if only(&["name"]) => {
                let Some((_, Bare::String(wanted))) =
                    component.params.iter().find(|(k, _)| k == "name")
                else {
                    return Err(SigError::Malformed(
                        "@query-param needs a name parameter".into(),
                    ));
                };
                msg.query
                    .unwrap_or("")
                    .split('&')
                    .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
                    .find(|(k, _)| k == wanted)
                    .map(|(_, v)| v.to_owned())
                    .ok_or_else(|| {
                        SigError::Invalid(format!("query parameter {wanted} is absent"))
                    })?
            }
            other => {
                return Err(SigError::Malformed(format!(
                    "unsupported component {other} or parameters on it"
                )));
            }
        };
        return Ok(value);
    }
    if !only(&[]) {
        return Err(SigError::Malformed(format!(
            "parameters on component {name} are not supported"
        )));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(SigError::Malformed(format!(
            "component {name} must be lower case"
        )));
    }
    msg.field(name)
        .ok_or_else(|| SigError::Invalid(format!("covered field {name} is absent")))
}

/// The signature base (RFC 9421 section 2.5) for one signature over `msg`.
pub fn signature_base(msg: &Message<'_>, sig: &Signature) -> Result<String, SigError> {
    let mut base = String::new();
    for (i, component) in sig.components.iter().enumerate() {
        if sig.components[..i].contains(component) {
            return Err(SigError::Malformed("a component is covered twice".into()));
        }
        let value = component_value(msg, component)?;
        if value.contains(['\n', '\r']) {
            return Err(SigError::Malformed(
                "component values may not hold line breaks".into(),
            ));
        }
        base.push_str(&sfv::serialize_item(component));
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&sig.params_value());
    Ok(base)
}

/// Whether `sig` is `key`'s Ed25519 signature over `msg`.
pub fn verify(msg: &Message<'_>, sig: &Signature, key: &PublicKey) -> Result<(), SigError> {
    if let Some(alg) = sig.alg()
        && alg != "ed25519"
    {
        return Err(SigError::Invalid(format!(
            "algorithm {alg} is not accepted, only ed25519"
        )));
    }
    let base = signature_base(msg, sig)?;
    if key.verify(base.as_bytes(), &sig.value) {
        Ok(())
    } else {
        Err(SigError::Invalid(
            "the Ed25519 signature does not match the request".into(),
        ))
    }
}

/// Checks `created` (and `expires`, if given) against `now_secs`.
pub fn check_times(sig: &Signature, now_secs: i64) -> Result<(), SigError> {
    let created = sig
        .created()
        .ok_or_else(|| SigError::Malformed("the created parameter is required".into()))?;
    if (now_secs - created).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(SigError::Expired(format!(
            "created {created} is more than {MAX_CLOCK_SKEW_SECS} s from the server's clock ({now_secs})"
        )));
    }
    if let Some(expires) = sig.expires()
        && expires < now_secs
    {
        return Err(SigError::Expired(format!("expired at {expires}")));
    }
    Ok(())
}

/// `sha-256=:…:` for `body` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        STANDARD.encode(digest::digest(&digest::SHA256, body))
    )
}

/// Checks a `Content-Digest` header against the body: every sha-256 or sha-512 member must match,
/// and at least one must be present.
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<(), SigError> {
    let members =
        sfv::parse_dictionary(header).map_err(|e| SigError::DigestMismatch(e.to_string()))?;
    let mut checked = 0;
    for (alg, member) in members {
        let algorithm = match alg.as_str() {
            "sha-256" => &digest::SHA256,
            "sha-512" => &digest::SHA512,
            _ => continue,
        };
        let Member::Item(Item {
            bare: Bare::Bytes(expected),
            ..
        }) = member
        else {
            return Err(SigError::DigestMismatch(format!(
                "{alg} is not a byte sequence"
            )));
        };
        if digest::digest(algorithm, body).as_ref() != expected.as_slice() {
            return Err(SigError::DigestMismatch(format!("{alg} differs")));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(SigError::DigestMismatch(
            "no sha-256 or sha-512 digest given".into(),
        ));
    }
    Ok(())
}

/// The headers a client adds to sign a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub content_digest: Option<String>,
    pub signature_input: String,
    pub signature: String,
}

/// Splits `scheme://authority/path?query`.
fn split_url(url: &str) -> Result<(&str, &str, &str, Option<&str>), SigError> {
    let bad = || SigError::Malformed(format!("`{url}` is not an absolute http(s) URL"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let rest = rest.split('#').next().unwrap_or(rest);
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    if authority.is_empty() {
        return Err(bad());
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    Ok((scheme, authority, path, query))
}

/// Signs a request covering `@method`, `@target-uri` and, with a body, `content-digest`; label
/// `sig1`, `alg="ed25519"`.
pub fn sign_request(
    key: &SigningKey,
    keyid: &str,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    created_secs: i64,
) -> Result<SignedHeaders, SigError> {
    sign_request_with(key, keyid, method, url, body, None, created_secs)
}

/// Signs a request the way Coalition's partners should: covering `@method`, `@target-uri`, with a
/// body `content-digest`, and the `Idempotency-Key` when there is one, so that two different
/// requests with the same content never carry the same signature (the server refuses a
/// signature it has seen with another request).
pub fn sign_request_with(
    key: &SigningKey,
    keyid: &str,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    idempotency_key: Option<&str>,
    created_secs: i64,
) -> Result<SignedHeaders, SigError> {
    let (scheme, authority, path, query) = split_url(url)?;
    let authority = authority.to_ascii_lowercase();
    let content_digest = body.map(content_digest);
    let mut headers = Vec::new();
    let mut names = vec!["@method", "@target-uri"];
    if let Some(d) = &content_digest {
        headers.push(("content-digest".to_owned(), d.clone()));
        names.push("content-digest");
    }
    if let Some(k) = idempotency_key {
        headers.push(("idempotency-key".to_owned(), k.to_owned()));
        names.push("idempotency-key");
    }
    let components: Vec<Item> = names
        .iter()
        .map(|n| Item {
            bare: Bare::String((*n).to_owned()),
            params: vec![],
        })
        .collect();
    let params: Params = vec![
        ("created".into(), Bare::Integer(created_secs)),
        ("keyid".into(), Bare::String(keyid.to_owned())),
        ("alg".into(), Bare::String("ed25519".into())),
    ];
    let sig = Signature {
        label: "sig1".into(),
        components,
        params,
        value: vec![],
    };
    let msg = Message {
        method,
        scheme,
        authority: &authority,
        path,
        query,
        headers: &headers,
    };
    let base = signature_base(&msg, &sig)?;
    let value = key.sign(base.as_bytes());
    Ok(SignedHeaders {
        content_digest,
        signature_input: format!("sig1={}", sig.params_value()),
        signature: format!("sig1=:{}:", STANDARD.encode(value)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(headers: &'a [(String, String)]) -> Message<'a> {
        Message {
            method: "POST",
            scheme: "http",
            authority: "127.0.0.1:8080",
            path: "/v1/earn",
            query: None,
            headers,
        }
    }

    #[test]
    fn sign_then_verify() {
        let key = SigningKey::generate().unwrap();
        let body = br#"{"points":"5"}"#;
        let h = sign_request(
            &key,
            "k1",
            "POST",
            "http://127.0.0.1:8080/v1/earn",
            Some(body),
            1000,
        )
        .unwrap();
        let headers = vec![(
            "content-digest".to_owned(),
            h.content_digest.clone().unwrap(),
        )];
        let sigs = parse(&h.signature_input, &h.signature).unwrap();
        assert_eq!(sigs[0].keyid(), Some("k1"));
        assert!(verify(&msg(&headers), &sigs[0], &key.public_key()).is_ok());
        check_content_digest(&headers[0].1, body).unwrap();
        assert!(check_content_digest(&headers[0].1, b"{}").is_err());
        // Another path, method or key does not verify.
        let mut other = msg(&headers);
        other.path = "/v1/redemptions";
        assert!(verify(&other, &sigs[0], &key.public_key()).is_err());
        let mut other = msg(&headers);
        other.method = "PUT";
        assert!(verify(&other, &sigs[0], &key.public_key()).is_err());
        assert!(
            verify(
                &msg(&headers),
                &sigs[0],
                &SigningKey::generate().unwrap().public_key()
            )
            .is_err()
        );
    }

    #[test]
    fn clock_window() {
        let key = SigningKey::generate().unwrap();
        let h = sign_request(&key, "k1", "GET", "http://h/x", None, 1000).unwrap();
        let sig = &parse(&h.signature_input, &h.signature).unwrap()[0];
        assert!(check_times(sig, 1000 + MAX_CLOCK_SKEW_SECS).is_ok());
        assert!(check_times(sig, 1000 - MAX_CLOCK_SKEW_SECS).is_ok());
        assert!(matches!(
            check_times(sig, 1001 + MAX_CLOCK_SKEW_SECS),
            Err(SigError::Expired(_))
        ));
        assert!(matches!(
            check_times(sig, 999 - MAX_CLOCK_SKEW_SECS),
            Err(SigError::Expired(_))
        ));
    }

    #[test]
    fn urls() {
        assert_eq!(
            split_url("https://a.example/p?q=1").unwrap(),
            ("https", "a.example", "/p", Some("q=1"))
        );
        assert_eq!(
            split_url("http://a:8080").unwrap(),
            ("http", "a:8080", "", None)
        );
        assert!(split_url("ftp://a/").is_err());
        assert!(split_url("/relative").is_err());
    }
}
