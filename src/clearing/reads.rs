//! What a partner reads: its entries with their status, and a member's balances as it may see
//! them.

use std::str::FromStr;

use super::input::MAX_PAGE;
use super::receipt::Posted;
use super::{Clearing, ClearingError, Missing};
use crate::ledger::{Amount, CommittedEntry, EntryId, EntryKind, MemberId, PartnerId, UnitCode};
use crate::store::ledger::EntryFilter;
use crate::store::status::{EntryStatus, OperationStatus};
use crate::store::{self, members, operations};

/// Which entries a listing shows: every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct EntryQuery {
    /// Only this partner's entries; every partner's when `None` (a member's own listing).
    pub partner: Option<PartnerId>,
    pub kind: Option<EntryKind>,
    pub member: Option<MemberId>,
    pub since_us: Option<i64>,
    pub until_us: Option<i64>,
    pub reference: Option<String>,
}

impl EntryQuery {
    fn filter(&self) -> EntryFilter {
        EntryFilter {
            partner: self.partner.as_ref().map(ToString::to_string),
            kind: self.kind.map(|k| k.as_str().to_owned()),
            member: self.member.map(|m| m.to_string()),
            since_us: self.since_us,
            until_us: self.until_us,
            reference: self.reference.clone(),
        }
    }
}

impl Clearing {
    /// One of this partner's entries, with its current status.
    pub async fn entry_for(
        &self,
        partner: &PartnerId,
        id: EntryId,
    ) -> Result<Posted, ClearingError> {
        let units = self.ctx.units.clone();
        let key = id.to_string();
        let (entry, op) = self
            .store
            .read(move |c| {
                Ok((
                    store::ledger::entry_by_id(c, id, &units)?,
                    operations::get(c, &key)?,
                ))
            })
            .await?;
        let entry = entry
            .filter(|e| e.meta.partner.as_ref() == Some(partner))
            .ok_or_else(|| ClearingError::NotFound(Missing::Entry(id.to_string())))?;
        let status = op.map_or(EntryStatus::Posted, |o| o.status.into());
        Ok(Posted {
            entry,
            status,
            coupons_issued: None,
        })
    }

    /// This partner's entries after `cursor`, at most `limit` of them, and the next cursor.
    pub async fn entries_for(
        &self,
        query: EntryQuery,
        after_seq: i64,
        limit: i64,
    ) -> Result<(Vec<Posted>, Option<i64>), ClearingError> {
        let units = self.ctx.units.clone();
        let filter = query.filter();
        let limit = limit.clamp(1, MAX_PAGE);
        let raws = self
            .store
            .read(move |c| store::ledger::entries_for(c, &filter, after_seq, limit))
            .await?;
        let mut out = Vec::with_capacity(raws.len());
        for raw in &raws {
            let entry = CommittedEntry::from_raw(raw, &units)
                .map_err(|e| ClearingError::Store(e.into()))?;
            out.push(Posted {
                entry,
                status: EntryStatus::Posted,
                coupons_issued: None,
            });
        }
        let ids: Vec<String> = out.iter().map(|p| p.entry.id.to_string()).collect();
        let statuses: std::collections::BTreeMap<String, OperationStatus> = self
            .store
            .read(move |c| operations::statuses(c, &ids))
            .await?
            .into_iter()
            .collect();
        for p in &mut out {
            p.status = statuses
                .get(&p.entry.id.to_string())
                .map_or(EntryStatus::Posted, |s| (*s).into());
        }
        let next = (out.len() as i64 == limit)
            .then(|| out.last().map(|p| p.entry.seq))
            .flatten();
        Ok((out, next))
    }

    /// A member's balances as this partner may see them: its own unit always, other units only
    /// when the member shares them with this partner (its link's consent).
    pub async fn balances_for(
        &self,
        partner: &PartnerId,
        member: MemberId,
    ) -> Result<Vec<(UnitCode, Amount)>, ClearingError> {
        let p = partner.to_string();
        let m = member.to_string();
        let accounts = self.member_accounts(member);
        let (sharing, balances) = self
            .store
            .read(move |c| {
                Ok((
                    members::link_to(c, &p, &m)?.map(|l| l.sharing),
                    store::ledger::member_balances(c, &accounts)?,
                ))
            })
            .await?;
        // Not linked is answered as not existing.
        let Some(sharing) = sharing else {
            return Err(ClearingError::NotFound(Missing::Member(member)));
        };
        let own = self
            .ctx
            .network
            .partner(partner)
            .and_then(|p| p.unit.clone());
        let mut out = Vec::new();
        if let Some(own) = &own {
            let held = balances
                .iter()
                .find(|(u, _)| u == own.as_str())
                .map_or(0, |(_, b)| *b);
            out.push((own.clone(), Amount::from_minor(-held, self.ctx.scale(own)?)));
        }
        if sharing.balances {
            for (unit, balance) in &balances {
                let Ok(code) = UnitCode::from_str(unit) else {
                    continue;
                };
                if Some(&code) != own.as_ref() {
                    let scale = self.ctx.scale(&code)?;
                    out.push((code, Amount::from_minor(-balance, scale)));
                }
            }
        }
        Ok(out)
    }
}
