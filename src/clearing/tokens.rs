//! JWTs (`jsonwebtoken`, EdDSA by the network key): member tokens minted for a partner's app,
//! and finance/operator tokens minted by `coalition token`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{ClearingError, Invalid};
use crate::crypto::SigningKey;
use crate::ledger::{MemberId, PartnerId};

pub const ISSUER: &str = "coalition";
pub const MEMBER_AUDIENCE: &str = "coalition-member";
pub const FINANCE_AUDIENCE: &str = "coalition-finance";
/// Member tokens live 15 minutes unless asked otherwise, at most an hour.
pub const DEFAULT_MEMBER_TOKEN_TTL_SECS: u64 = 15 * 60;
pub const MAX_MEMBER_TOKEN_TTL_SECS: u64 = 60 * 60;
/// Finance tokens live a day unless asked otherwise, at most 30 days.
pub const DEFAULT_FINANCE_TOKEN_TTL_SECS: u64 = 24 * 60 * 60;
pub const MAX_FINANCE_TOKEN_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// Seconds of clock difference tolerated on `exp`.
pub const LEEWAY_SECS: u64 = 5;
/// What a member token may be used for.
pub const MEMBER_SCOPES: [&str; 13] = [
    "wallet",
    "entries",
    "consent",
    "authorizations",
    "conversions",
    "donations",
    "card",
    "links",
    "profile",
    "rewards",
    "offers",
    "export",
    "erase",
];
/// Scopes a token carries only when they are asked for by name (the contract's rule: what
/// widens who may act for the member is never granted by default).
pub const OPT_IN_SCOPES: [&str; 4] = ["consent", "links", "export", "erase"];

/// Every claim a member token may carry, and nothing else (an unknown claim is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// Space-separated scopes (RFC 8693 style).
    pub scope: String,
    /// The authorised party (OIDC `azp`): the partner that minted the token for its app. It
    /// bounds what the token may move (`trust::token_may_move`).
    pub azp: String,
    pub iat: i64,
    /// Not before (optional): refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    pub jti: String,
}

/// Every claim a finance or operator token may carry, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinanceClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// `finance` or `operator`.
    pub role: String,
    /// A partner's own finance staff: limited to that partner. Absent for network-wide staff;
    /// `null` is refused, so that a malformed scope can never read as "every partner".
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_string"
    )]
    pub partner: Option<String>,
    pub iat: i64,
    /// Not before (optional): refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    /// The token's id (optional: tokens minted before it was added have none). A console
    /// sign-in link takes its token once, by this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// A claim that, when present, is a string (`null` is not "absent").
fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// A verified member token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberIdentity {
    pub member: MemberId,
    pub scopes: Vec<String>,
    /// The partner that minted the token.
    pub azp: PartnerId,
    /// The token's id: the wallet takes a token once (its sign-in link is single use).
    pub jti: String,
    /// When the token expires (seconds since the epoch): a wallet session ends then too.
    pub expires_at_secs: i64,
}

impl MemberIdentity {
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Finance,
    Operator,
}

/// A verified finance or operator token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinanceIdentity {
    pub role: Role,
    /// Set for a partner's own finance staff.
    pub partner: Option<PartnerId>,
    /// When the token expires (seconds since the epoch): a console session ends then too.
    pub expires_at_secs: i64,
    /// The token's id, when it has one: a sign-in link takes it once.
    pub jti: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid here: {0}")]
    Invalid(String),
}

/// Claims that say when they were issued, from when and until when they hold, and the longest
/// lifetime their kind of token may have.
trait Lifetime {
    const MAX_LIFETIME_SECS: u64;
    fn times(&self) -> (i64, Option<i64>, i64);
}

impl Lifetime for MemberClaims {
    const MAX_LIFETIME_SECS: u64 = MAX_MEMBER_TOKEN_TTL_SECS;
    fn times(&self) -> (i64, Option<i64>, i64) {
        (self.iat, self.nbf, self.exp)
    }
}

impl Lifetime for FinanceClaims {
    const MAX_LIFETIME_SECS: u64 = MAX_FINANCE_TOKEN_TTL_SECS;
    fn times(&self) -> (i64, Option<i64>, i64) {
        (self.iat, self.nbf, self.exp)
    }
}

/// Keys for minting and checking tokens, made once from the network key.
pub struct TokenKeys {
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(key: &SigningKey, kid: &str) -> Self {
        crate::crypto::jwt::install();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(key.pkcs8_der()),
            decoding: DecodingKey::from_ed_der(key.public_key().as_bytes()),
        }
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, ClearingError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| ClearingError::InvalidRequest(Invalid::TokenSigning(e.to_string())))
    }

    /// The claims of a token signed by the network for `audience`, valid at `now_secs` by the
    /// service's clock (not jsonwebtoken's own reading of the system's): issued and valid from
    /// no later than now, unexpired, and living no longer than its kind of token may.
    fn check<T: serde::de::DeserializeOwned + Lifetime>(
        &self,
        token: &str,
        audience: &str,
        now_secs: i64,
    ) -> Result<T, TokenError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?;
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let (iat, nbf, exp) = claims.times();
        if iat.max(nbf.unwrap_or(iat)) > now_secs.saturating_add(leeway) {
            return Err(TokenError::Invalid("the token is not valid yet".into()));
        }
        let longest = i64::try_from(T::MAX_LIFETIME_SECS).unwrap_or(i64::MAX);
        if exp.saturating_sub(iat) > longest {
            return Err(TokenError::Invalid(format!(
                "the token lives longer than {longest} s"
            )));
        }
        if exp.saturating_add(leeway) < now_secs {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// A member token for `member`, minted at `partner`'s request.
    pub fn mint_member(
        &self,
        member: MemberId,
        partner: &PartnerId,
        scopes: &[String],
        ttl_secs: u64,
        now_secs: i64,
    ) -> Result<(String, i64), ClearingError> {
        let exp = now_secs + i64::try_from(ttl_secs.min(MAX_MEMBER_TOKEN_TTL_SECS)).unwrap_or(0);
        let claims = MemberClaims {
            iss: ISSUER.into(),
            aud: MEMBER_AUDIENCE.into(),
            sub: member.to_string(),
            scope: scopes.join(" "),
            azp: partner.to_string(),
            iat: now_secs,
            nbf: None,
            exp,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        Ok((self.sign(&claims)?, exp))
    }

    pub fn member(&self, token: &str, now_secs: i64) -> Result<MemberIdentity, TokenError> {
        let claims: MemberClaims = self.check(token, MEMBER_AUDIENCE, now_secs)?;
        let member = claims
            .sub
            .parse()
            .map_err(|_| TokenError::Invalid("sub is not a member id".into()))?;
        let scopes = claims.scope.split_whitespace().map(str::to_owned).collect();
        let azp = claims
            .azp
            .parse()
            .map_err(|_| TokenError::Invalid("azp is not a partner id".into()))?;
        Ok(MemberIdentity {
            member,
            scopes,
            azp,
            jti: claims.jti,
            expires_at_secs: claims.exp,
        })
    }

    /// A finance (`partner` set: that partner's own staff) or operator token.
    pub fn mint_finance(
        &self,
        role: Role,
        partner: Option<&PartnerId>,
        ttl_secs: u64,
        now_secs: i64,
    ) -> Result<String, ClearingError> {
        let role_name = match role {
            Role::Finance => "finance",
            Role::Operator => "operator",
        };
        let claims = FinanceClaims {
            iss: ISSUER.into(),
            aud: FINANCE_AUDIENCE.into(),
            sub: partner.map_or_else(
                || format!("{role_name}@network"),
                |p| format!("{role_name}@{p}"),
            ),
            role: role_name.into(),
            partner: partner.map(ToString::to_string),
            iat: now_secs,
            nbf: None,
            exp: now_secs + i64::try_from(ttl_secs.min(MAX_FINANCE_TOKEN_TTL_SECS)).unwrap_or(0),
            jti: Some(uuid::Uuid::new_v4().to_string()),
        };
        self.sign(&claims)
    }

    pub fn finance(&self, token: &str, now_secs: i64) -> Result<FinanceIdentity, TokenError> {
        let claims: FinanceClaims = self.check(token, FINANCE_AUDIENCE, now_secs)?;
        let role = match claims.role.as_str() {
            "finance" => Role::Finance,
            "operator" => Role::Operator,
            other => {
                return Err(TokenError::Invalid(format!(
                    "role {other} is not finance or operator"
                )));
            }
        };
        let partner = claims
            .partner
            .map(|p| {
                p.parse()
                    .map_err(|_| TokenError::Invalid("partner is not a partner id".into()))
            })
            .transpose()?;
        Ok(FinanceIdentity {
            role,
            partner,
            expires_at_secs: claims.exp,
            jti: claims.jti,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        let key = SigningKey::generate().unwrap();
        let kid = key.public_key().jwk().kid;
        TokenKeys::new(&key, &kid)
    }

    #[test]
    fn member_tokens_round_trip_and_expire() {
        let k = keys();
        let m = MemberId::random();
        let now = crate::ledger::clock::Clock::system().now_secs();
        let (t, _) = k
            .mint_member(m, &"aroma".parse().unwrap(), &["wallet".into()], 60, now)
            .unwrap();
        let id = k.member(&t, now).unwrap();
        assert_eq!(id.member, m);
        // Expired by the clock the service passes, past the leeway.
        let later = now + 60 + i64::try_from(LEEWAY_SECS).unwrap() + 1;
        assert_eq!(k.member(&t, later), Err(TokenError::Expired));
        assert!(id.allows("wallet") && !id.allows("donations"));
        let (old, _) = k
            .mint_member(m, &"aroma".parse().unwrap(), &[], 60, now - 3600)
            .unwrap();
        assert_eq!(k.member(&old, now), Err(TokenError::Expired));
        // A finance token is not a member token, and another key's token is nobody's.
        let f = k.mint_finance(Role::Operator, None, 60, now).unwrap();
        assert!(k.member(&f, now).is_err());
        assert!(keys().member(&t, now).is_err());
        assert!(k.member("garbage", now).is_err());
    }

    #[test]
    fn finance_tokens_carry_role_and_partner() {
        let k = keys();
        let now = crate::ledger::clock::Clock::system().now_secs();
        let t = k
            .mint_finance(Role::Finance, Some(&"books".parse().unwrap()), 60, now)
            .unwrap();
        let id = k.finance(&t, now).unwrap();
        assert_eq!(id.role, Role::Finance);
        assert_eq!(id.partner.as_ref().map(|p| p.as_str()), Some("books"));
    }

    /// Tokens signed by the network key but shaped or timed wrongly are refused: not valid yet,
    /// living longer than their kind may, carrying an unknown claim, or scoped to a `null`
    /// partner (which must never read as network-wide).
    #[test]
    fn tokens_out_of_shape_or_time_are_refused() {
        let k = keys();
        let now = crate::ledger::clock::Clock::system().now_secs();
        let member = MemberId::random().to_string();
        let member_claims = |extra: serde_json::Value| {
            let mut c = serde_json::json!({ "iss": ISSUER, "aud": MEMBER_AUDIENCE, "sub": member,
                "scope": "wallet", "azp": "aroma", "iat": now, "exp": now + 60, "jti": "j" });
            for (key, value) in extra.as_object().unwrap() {
                c[key] = value.clone();
            }
            k.sign(&c).unwrap()
        };
        assert!(k.member(&member_claims(serde_json::json!({})), now).is_ok());
        let later = member_claims(serde_json::json!({ "nbf": now + 600, "exp": now + 900 }));
        assert!(matches!(k.member(&later, now), Err(TokenError::Invalid(_))));
        assert!(
            k.member(&later, now + 600).is_ok(),
            "valid once its time has come"
        );
        let issued_ahead = member_claims(serde_json::json!({ "iat": now + 600, "exp": now + 660 }));
        assert!(matches!(
            k.member(&issued_ahead, now),
            Err(TokenError::Invalid(_))
        ));
        let ten_years = member_claims(serde_json::json!({ "exp": now + 10 * 365 * 86_400 }));
        assert!(matches!(
            k.member(&ten_years, now),
            Err(TokenError::Invalid(_))
        ));
        let extra = member_claims(serde_json::json!({ "admin": true }));
        assert!(matches!(k.member(&extra, now), Err(TokenError::Invalid(_))));
        let finance = |partner: serde_json::Value| {
            k.sign(
                &serde_json::json!({ "iss": ISSUER, "aud": FINANCE_AUDIENCE, "sub": "finance@x",
                "role": "finance", "partner": partner, "iat": now, "exp": now + 60 }),
            )
            .unwrap()
        };
        assert_eq!(
            k.finance(&finance(serde_json::json!("aroma")), now)
                .unwrap()
                .partner
                .map(|p| p.to_string()),
            Some("aroma".to_owned())
        );
        assert!(matches!(
            k.finance(&finance(serde_json::Value::Null), now),
            Err(TokenError::Invalid(_))
        ));
        let finance_year = k
            .sign(&serde_json::json!({ "iss": ISSUER, "aud": FINANCE_AUDIENCE, "sub": "finance@network",
                "role": "finance", "iat": now, "exp": now + 365 * 86_400 }))
            .unwrap();
        assert!(matches!(
            k.finance(&finance_year, now),
            Err(TokenError::Invalid(_))
        ));
    }
}
