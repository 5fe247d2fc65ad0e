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
pub const MEMBER_SCOPES: [&str; 6] = [
    "wallet",
    "entries",
    "consent",
    "authorizations",
    "conversions",
    "donations",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// Space-separated scopes (RFC 8693 style).
    pub scope: String,
    /// The partner whose app the token was minted for.
    pub partner: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    /// `finance` or `operator`.
    pub role: String,
    /// A partner's own finance staff: limited to that partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// A verified member token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberIdentity {
    pub member: MemberId,
    pub scopes: Vec<String>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid here: {0}")]
    Invalid(String),
}

/// Claims that say when they expire.
trait Expiring {
    fn exp(&self) -> i64;
}

impl Expiring for MemberClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Expiring for FinanceClaims {
    fn exp(&self) -> i64 {
        self.exp
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

    /// The claims of a token signed by the network for `audience`, unexpired at `now_secs` by
    /// the service's clock (not jsonwebtoken's own reading of the system's).
    fn check<T: serde::de::DeserializeOwned + Expiring>(
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
        if claims.exp().saturating_add(leeway) < now_secs {
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
            partner: partner.to_string(),
            iat: now_secs,
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
        Ok(MemberIdentity { member, scopes })
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
            exp: now_secs + i64::try_from(ttl_secs.min(MAX_FINANCE_TOKEN_TTL_SECS)).unwrap_or(0),
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
        Ok(FinanceIdentity { role, partner })
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
}
