//! The part of RFC 8941 structured field values that message signatures use: dictionaries of
//! items and inner lists with parameters, and their canonical serialisation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The longest structured header accepted, in bytes.
pub const MAX_FIELD_BYTES: usize = 8 * 1024;
/// The most members or inner-list items accepted in one field.
pub const MAX_MEMBERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bare {
    Integer(i64),
    Decimal(String),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

pub type Params = Vec<(String, Bare)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub bare: Bare,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Item),
    InnerList(Vec<Item>, Params),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed structured field at byte {at}: {why}")]
pub struct SfError {
    pub at: usize,
    pub why: &'static str,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, why: &'static str) -> SfError {
        SfError { at: self.i, why }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn key(&mut self) -> Result<String, SfError> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(self.err("expected a key")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'_' | b'-' | b'.' | b'*')
            {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare(&mut self) -> Result<Bare, SfError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.i += 1;
                match self.peek() {
                    Some(b'1') => {
                        self.i += 1;
                        Ok(Bare::Boolean(true))
                    }
                    Some(b'0') => {
                        self.i += 1;
                        Ok(Bare::Boolean(false))
                    }
                    _ => Err(self.err("expected ?0 or ?1")),
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                Ok(Bare::Token(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
            _ => Err(self.err("expected an item")),
        }
    }

    fn string(&mut self) -> Result<Bare, SfError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Bare::String(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        _ => return Err(self.err("bad escape in string")),
                    }
                }
                Some(c) if (0x20..0x7f).contains(&c) => {
                    out.push(c as char);
                    self.i += 1;
                }
                Some(_) => return Err(self.err("strings hold printable ASCII only")),
            }
        }
    }

    fn bytes(&mut self) -> Result<Bare, SfError> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') {
                self.i += 1;
            } else {
                break;
            }
        }
        let body = &self.s[start..self.i];
        if !self.eat(b':') {
            return Err(self.err("unterminated byte sequence"));
        }
        STANDARD
            .decode(body)
            .map(Bare::Bytes)
            .map_err(|_| self.err("bad base64 in byte sequence"))
    }

    fn number(&mut self) -> Result<Bare, SfError> {
        let start = self.i;
        self.eat(b'-');
        let mut dot = false;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                self.i += 1;
            } else if c == b'.' && !dot {
                dot = true;
                self.i += 1;
            } else {
                break;
            }
        }
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        if dot {
            return Ok(Bare::Decimal(text));
        }
        if text.trim_start_matches('-').len() > 15 {
            return Err(self.err("integer too long"));
        }
        text.parse()
            .map(Bare::Integer)
            .map_err(|_| self.err("bad integer"))
    }

    fn params(&mut self) -> Result<Params, SfError> {
        let mut params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            if params.len() >= MAX_MEMBERS {
                return Err(self.err("too many parameters"));
            }
            params.push((key, value));
        }
        Ok(params)
    }

    fn item(&mut self) -> Result<Item, SfError> {
        let bare = self.bare()?;
        let params = self.params()?;
        Ok(Item { bare, params })
    }

    fn member_value(&mut self) -> Result<Member, SfError> {
        if !self.eat(b'(') {
            return Ok(Member::Item(self.item()?));
        }
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            if items.len() >= MAX_MEMBERS {
                return Err(self.err("too many items in inner list"));
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(self.err("expected a space or `)` in inner list"));
            }
        }
    }
}

/// Parses a dictionary field value. Keys appearing twice keep their last value (RFC 8941).
pub fn parse_dictionary(text: &str) -> Result<Vec<(String, Member)>, SfError> {
    dictionary(text, false)
}

/// Parses a dictionary field value, refusing a key that appears twice: for fields where a second
/// value under one name is an attempt to have it read differently, not an update (signatures).
pub fn parse_dictionary_unique(text: &str) -> Result<Vec<(String, Member)>, SfError> {
    dictionary(text, true)
}

fn dictionary(text: &str, unique: bool) -> Result<Vec<(String, Member)>, SfError> {
    if text.len() > MAX_FIELD_BYTES {
        return Err(SfError {
            at: MAX_FIELD_BYTES,
            why: "field too long",
        });
    }
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.skip_sp();
    let mut out: Vec<(String, Member)> = Vec::new();
    if p.peek().is_none() {
        return Ok(out);
    }
    loop {
        let key = p.key()?;
        let value = if p.eat(b'=') {
            p.member_value()?
        } else {
            Member::Item(Item {
                bare: Bare::Boolean(true),
                params: p.params()?,
            })
        };
        if out.iter().any(|(k, _)| k == &key) {
            if unique {
                return Err(p.err("a key appears twice"));
            }
            out.retain(|(k, _)| k != &key);
        }
        if out.len() >= MAX_MEMBERS {
            return Err(p.err("too many members"));
        }
        out.push((key, value));
        p.skip_ows();
        if p.peek().is_none() {
            return Ok(out);
        }
        if !p.eat(b',') {
            return Err(p.err("expected `,` between members"));
        }
        p.skip_ows();
        if p.peek().is_none() {
            return Err(p.err("trailing comma"));
        }
    }
}

pub fn serialize_bare(b: &Bare) -> String {
    match b {
        Bare::Integer(i) => i.to_string(),
        Bare::Decimal(d) => d.clone(),
        Bare::String(s) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
            out
        }
        Bare::Token(t) => t.clone(),
        Bare::Bytes(b) => format!(":{}:", STANDARD.encode(b)),
        Bare::Boolean(true) => "?1".into(),
        Bare::Boolean(false) => "?0".into(),
    }
}

pub fn serialize_params(params: &Params) -> String {
    let mut out = String::new();
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Boolean(true) {
            out.push('=');
            out.push_str(&serialize_bare(v));
        }
    }
    out
}

pub fn serialize_item(item: &Item) -> String {
    serialize_bare(&item.bare) + &serialize_params(&item.params)
}

pub fn serialize_inner_list(items: &[Item], params: &Params) -> String {
    let inner: Vec<String> = items.iter().map(serialize_item).collect();
    format!("({}){}", inner.join(" "), serialize_params(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_keeps_its_last_value_or_is_refused() {
        let d = parse_dictionary("a=1, b=2, a=3").unwrap();
        let a: Vec<&Member> = d.iter().filter(|(k, _)| k == "a").map(|(_, m)| m).collect();
        assert_eq!(a.len(), 1);
        assert!(matches!(
            a[0],
            Member::Item(Item {
                bare: Bare::Integer(3),
                ..
            })
        ));
        assert!(parse_dictionary_unique("a=1, b=2, a=3").is_err());
        assert_eq!(parse_dictionary_unique("a=1, b=2").unwrap().len(), 2);
    }

    #[test]
    fn parses_signature_input() {
        let d = parse_dictionary(r#"sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="k-1";alg="ed25519", sig2=("@path")"#).unwrap();
        assert_eq!(d.len(), 2);
        let Member::InnerList(items, params) = &d[0].1 else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert_eq!(params[0], ("created".into(), Bare::Integer(1618884473)));
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("@method" "@target-uri" "content-digest");created=1618884473;keyid="k-1";alg="ed25519""#
        );
    }

    #[test]
    fn parses_byte_sequences() {
        let d = parse_dictionary("sha-256=:AAEC:, sha-512=:/w==:").unwrap();
        assert_eq!(
            d[0].1,
            Member::Item(Item {
                bare: Bare::Bytes(vec![0, 1, 2]),
                params: vec![]
            })
        );
        assert_eq!(d[1].0, "sha-512");
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "sig1=(",
            "sig1=(\"a\"",
            "Sig1=:AA==:",
            "sig1=\"\\x\"",
            "a=1,",
            "a=:AA",
            "sig1=(\"a\"\"b\")",
            "a=\"é\"",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
        assert!(parse_dictionary(&"a=1, ".repeat(2000)).is_err());
    }
}
