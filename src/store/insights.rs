//! Insights as the segment worker's daily pass left them: one JSON body per partner and one for
//! the network, read by key.

use diesel::prelude::*;

use super::schema::{campaigns, insights};
use super::tx::WriteTx;
use super::{DbConn, StoreError};

/// The most campaigns a partner's insights list (the newest).
pub const MAX_INSIGHT_CAMPAIGNS: i64 = 100;

/// The scope of the network's own insights.
pub const NETWORK_SCOPE: &str = "network";

/// The stored body of `scope` and when it was computed.
pub fn get(conn: &mut DbConn, scope: &str) -> Result<Option<(i64, String)>, StoreError> {
    Ok(insights::table
        .find(scope)
        .select((insights::computed_at_us, insights::body))
        .first(conn)
        .optional()?)
}

/// Replaces every scope's body (the end of a pass).
pub fn replace_tx(tx: &mut WriteTx<'_>, bodies: &[(String, String)]) -> Result<(), StoreError> {
    let now = tx.now_us();
    let conn = tx.db()?;
    diesel::delete(insights::table).execute(conn)?;
    for (scope, body) in bodies {
        diesel::insert_into(insights::table)
            .values((
                insights::scope.eq(scope),
                insights::computed_at_us.eq(now),
                insights::body.eq(body),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// `(campaign_id, issued, redeemed)` of a sponsor's newest campaigns (every sponsor's for
/// `None`), at most [`MAX_INSIGHT_CAMPAIGNS`].
pub fn campaigns_of(
    conn: &mut DbConn,
    sponsor: Option<&str>,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let mut q = campaigns::table
        .order((campaigns::created_at_us.desc(), campaigns::id.desc()))
        .limit(MAX_INSIGHT_CAMPAIGNS)
        .select((
            campaigns::id,
            campaigns::issued_count,
            campaigns::redeemed_count,
        ))
        .into_boxed();
    if let Some(s) = sponsor {
        q = q.filter(campaigns::sponsor.eq(s));
    }
    Ok(q.load(conn)?)
}
