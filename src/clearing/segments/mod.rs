//! Segments: a partner's (over its linked members) or the network's (over every member), defined
//! by conditions on the behaviour aggregates, kept as a membership the segment worker
//! (`worker.rs`) updates as members' aggregates change and once a day for time. Reads never
//! evaluate: a segment's size and members are what the worker last wrote.

pub mod definition;
mod worker;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::check_text;
use super::write::{Caller, Work};
use super::{Clearing, ClearingError, Context, Invalid, Missing, time};
use crate::ledger::{PartnerId, SegmentId};
use crate::store::WriteTx;
use crate::store::segments::{self, MAX_SEGMENTS, SegmentRow};
pub use definition::{ConditionInput, MAX_CONDITIONS};
pub use worker::{Evaluated, EvaluationState};

/// The longest segment name, in characters.
pub const MAX_SEGMENT_NAME_CHARS: usize = 100;
/// A partner's segment smaller than this shows its size as `"<10"`: no member singled out.
pub const K_ANONYMITY: i64 = 10;

/// Who reads or makes a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Partner(PartnerId),
    /// The operator: network-wide segments.
    Network,
}

impl Owner {
    fn column(&self) -> Option<String> {
        match self {
            Owner::Partner(p) => Some(p.to_string()),
            Owner::Network => None,
        }
    }

    /// Whether this owner may read `row`: its own; the operator reads every segment.
    fn reads(&self, row: &SegmentRow) -> bool {
        match self {
            Owner::Network => true,
            Owner::Partner(p) => row.owner.as_deref() == Some(p.as_str()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SegmentInput {
    pub name: String,
    pub all: Vec<ConditionInput>,
}

/// A segment as its owner sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SegmentView {
    pub segment_id: String,
    pub name: String,
    /// The partner whose segment it is; absent for a network-wide one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The conditions, as given.
    #[schema(value_type = Vec<Object>)]
    pub all: Vec<ConditionInput>,
    /// Members in it now: a number, or `"<10"` for a partner's segment under 10 (zero too).
    #[schema(value_type = Object, example = json!("<10"))]
    pub size: serde_json::Value,
    pub created_at: String,
    /// When the worker last finished a pass over every member (absent: not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<String>,
}

impl SegmentView {
    fn new(row: SegmentRow) -> Self {
        let all = serde_json::from_str(&row.definition).unwrap_or_default();
        let size = if row.owner.is_some() && row.size < K_ANONYMITY {
            serde_json::json!("<10")
        } else {
            serde_json::json!(row.size)
        };
        Self {
            segment_id: row.id,
            name: row.name,
            owner: row.owner,
            all,
            size,
            created_at: time::rfc3339(row.created_at_us),
            evaluated_at: row.evaluated_at_us.map(time::rfc3339),
        }
    }
}

/// A member of a segment, in the order they entered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SegmentMemberView {
    pub member_id: String,
    pub entered_at: String,
}

/// The segment's new row, its definition checked.
fn new_row(ctx: &Context, owner: &Owner, input: SegmentInput) -> Result<SegmentRow, ClearingError> {
    check_text("name", &input.name, MAX_SEGMENT_NAME_CHARS)?;
    definition::parse(&ctx.network, &input.all)
        .map_err(|e| ClearingError::InvalidRequest(Invalid::Segment(e.to_string())))?;
    Ok(SegmentRow {
        id: SegmentId::new_v7().to_string(),
        owner: owner.column(),
        name: input.name,
        definition: serde_json::to_string(&input.all).unwrap_or_default(),
        size: 0,
        entered_total: 0,
        created_at_us: ctx.clock.now_us(),
        evaluated_at_us: None,
    })
}

fn insert(tx: &mut WriteTx<'_>, row: &SegmentRow) -> Result<(), ClearingError> {
    if segments::count_tx(tx)? >= MAX_SEGMENTS {
        return Err(ClearingError::InvalidRequest(Invalid::TooManySegments(
            MAX_SEGMENTS,
        )));
    }
    segments::insert_tx(tx, row)?;
    Ok(())
}

impl Clearing {
    /// `POST /v1/segments` by a partner (under its idempotency key). Its members are computed
    /// by the worker's next pass ([`Clearing::segments_changed`] asks for it).
    pub fn create_segment_work(
        &self,
        caller: &Caller,
        input: SegmentInput,
    ) -> Result<impl Work<SegmentView>, ClearingError> {
        let row = new_row(&self.ctx, &Owner::Partner(caller.partner.clone()), input)?;
        Ok(move |_: &Context, tx: &mut WriteTx<'_>| {
            insert(tx, &row)?;
            Ok(SegmentView::new(row))
        })
    }

    /// `POST /v1/segments` by the operator: a network-wide segment.
    pub async fn create_network_segment(
        &self,
        input: SegmentInput,
    ) -> Result<SegmentView, ClearingError> {
        let row = new_row(&self.ctx, &Owner::Network, input)?;
        let view = self
            .store
            .write(move |tx| insert(tx, &row).map(|()| SegmentView::new(row)))
            .await?;
        self.segments_changed();
        Ok(view)
    }

    /// `GET /v1/segments/{id}`: the owner's own (the operator's: any).
    pub async fn segment(
        &self,
        owner: &Owner,
        id: SegmentId,
    ) -> Result<SegmentView, ClearingError> {
        let key = id.to_string();
        let row = self.store.read(move |c| segments::get(c, &key)).await?;
        row.filter(|r| owner.reads(r))
            .map(SegmentView::new)
            .ok_or_else(|| ClearingError::NotFound(Missing::Segment(id.to_string())))
    }

    /// `GET /v1/segments/{id}/members`: a page in the order members entered, after place
    /// `after`; the next page's place when there may be more.
    pub async fn segment_members(
        &self,
        owner: &Owner,
        id: SegmentId,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<SegmentMemberView>, Option<i64>), ClearingError> {
        self.segment(owner, id).await?;
        let key = id.to_string();
        let page = self
            .store
            .read(move |c| segments::members_page(c, &key, after, limit))
            .await?;
        let next = (i64::try_from(page.len()).unwrap_or(0) == limit)
            .then(|| page.last().map(|(seq, _, _)| *seq))
            .flatten();
        let items = page
            .into_iter()
            .map(|(_, member_id, at)| SegmentMemberView {
                member_id,
                entered_at: time::rfc3339(at),
            })
            .collect();
        Ok((items, next))
    }
}
