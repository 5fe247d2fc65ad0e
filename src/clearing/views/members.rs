//! What a member's own calls answer: tokens, consent, authorisations.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// A JWT (EdDSA, `kid` in /.well-known/jwks.json) for `Authorization: Bearer`.
    pub token: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentView {
    pub member_id: String,
    pub share_balances: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthorizationView {
    /// What the partner passes as `authorization` in `POST /v1/redemptions`.
    pub code: String,
    pub partner: String,
    pub unit: String,
    pub max_points: String,
    pub expires_at: String,
}
