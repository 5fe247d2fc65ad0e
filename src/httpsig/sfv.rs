//! The structured field values (RFC 8941) message signatures use, parsed by the `sfv` crate
//! (checked against the httpwg test suite) into the few types the RFC 9421 layer reads, and
//! serialised canonically for the signature base.

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
#[error("malformed structured field: {0}")]
pub struct SfError(String);

/// Parses a dictionary field value (RFC 8941) with the `sfv` crate: a key or a parameter that
/// appears twice keeps its last value.
pub fn parse_dictionary(text: &str) -> Result<Vec<(String, Member)>, SfError> {
    if text.len() > MAX_FIELD_BYTES {
        return Err(SfError(format!("longer than {MAX_FIELD_BYTES} bytes")));
    }
    let parsed: sfv::Dictionary = sfv::Parser::new(text)
        .with_version(sfv::Version::Rfc8941)
        .parse()
        .map_err(|e| SfError(e.to_string()))?;
    if parsed.len() > MAX_MEMBERS {
        return Err(SfError(format!("more than {MAX_MEMBERS} members")));
    }
    parsed
        .into_iter()
        .map(|(key, entry)| {
            let member = match entry {
                sfv::ListEntry::Item(item) => Member::Item(item_of(item)?),
                sfv::ListEntry::InnerList(list) => {
                    if list.items.len() > MAX_MEMBERS {
                        return Err(SfError(format!("an inner list of more than {MAX_MEMBERS}")));
                    }
                    let items = list
                        .items
                        .into_iter()
                        .map(item_of)
                        .collect::<Result<_, _>>()?;
                    Member::InnerList(items, params_of(list.params)?)
                }
            };
            Ok((key.as_str().to_owned(), member))
        })
        .collect()
}

/// Parses a dictionary field value, refusing a key that appears twice: for fields where a second
/// value under one name is an attempt to have it read differently, not an update (signatures).
/// The crate keeps the last value, as RFC 8941 says, so the keys are counted first.
pub fn parse_dictionary_unique(text: &str) -> Result<Vec<(String, Member)>, SfError> {
    if text.len() > MAX_FIELD_BYTES {
        return Err(SfError(format!("longer than {MAX_FIELD_BYTES} bytes")));
    }
    let keys = sfv::Parser::new(text)
        .with_version(sfv::Version::Rfc8941)
        .parse_dictionary_with_visitor(KeyCounter::default())
        .map_err(|e| SfError(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = keys.iter().find(|k| !seen.insert(k.as_str())) {
        return Err(SfError(format!("the key `{twice}` appears twice")));
    }
    parse_dictionary(text)
}

/// Collects a dictionary's keys in order, repeats included, and ignores their values.
#[derive(Default)]
struct KeyCounter(Vec<String>);

impl<'de> sfv::visitor::DictionaryVisitor<'de> for KeyCounter {
    type Out = Vec<String>;
    type Error = std::convert::Infallible;

    fn entry(
        &mut self,
        key: &'de sfv::KeyRef,
    ) -> Result<impl sfv::visitor::EntryVisitor<'de>, Self::Error> {
        self.0.push(key.as_str().to_owned());
        Ok(sfv::visitor::Ignored)
    }

    fn finish(self) -> Result<Vec<String>, Self::Error> {
        Ok(self.0)
    }
}

fn item_of(item: sfv::Item) -> Result<Item, SfError> {
    Ok(Item {
        bare: bare_of(item.bare_item)?,
        params: params_of(item.params)?,
    })
}

fn params_of(params: sfv::Parameters) -> Result<Params, SfError> {
    if params.len() > MAX_MEMBERS {
        return Err(SfError(format!("more than {MAX_MEMBERS} parameters")));
    }
    params
        .into_iter()
        .map(|(k, v)| Ok((k.as_str().to_owned(), bare_of(v)?)))
        .collect()
}

fn bare_of(bare: sfv::BareItem) -> Result<Bare, SfError> {
    Ok(match bare {
        sfv::BareItem::Integer(i) => Bare::Integer(i64::from(i)),
        sfv::BareItem::Decimal(d) => Bare::Decimal(d.to_string()),
        sfv::BareItem::String(s) => Bare::String(s.as_str().to_owned()),
        sfv::BareItem::Token(t) => Bare::Token(t.as_str().to_owned()),
        sfv::BareItem::ByteSequence(b) => Bare::Bytes(b),
        sfv::BareItem::Boolean(b) => Bare::Boolean(b),
        // RFC 9651's dates and display strings; refused by the RFC 8941 parse above.
        _ => return Err(SfError("a type RFC 8941 does not have".into())),
    })
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
    fn follows_rfc_8941_where_the_hand_written_parser_did_not() {
        // A repeated parameter keeps its last value.
        let d = parse_dictionary("a=1;p=1;p=2").unwrap();
        let Member::Item(item) = &d[0].1 else {
            panic!()
        };
        assert_eq!(item.params, vec![("p".to_owned(), Bare::Integer(2))]);
        // A decimal needs a digit after its point.
        assert!(parse_dictionary("a=1.").is_err());
        assert!(parse_dictionary("a=1.5").is_ok());
        // Unpadded base64 is read (RFC 8941 4.2.7: parsers SHOULD NOT fail on missing padding).
        let d = parse_dictionary("sha-256=:AAEC:, x=:/w:").unwrap();
        assert_eq!(
            d[1].1,
            Member::Item(Item {
                bare: Bare::Bytes(vec![0xff]),
                params: vec![]
            })
        );
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
