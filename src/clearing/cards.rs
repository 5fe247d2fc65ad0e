//! Member cards: a number issued at enrolment, the card standing for the member in a partner's
//! call (presenting it is the member's act: it links the brand, with no sharing), and a lost card
//! replaced by a new number, the old one refused from then on.

use super::context::Context;
use super::write::Work;
use super::{Clearing, ClearingError, input::parse_member};
use crate::ledger::{CardNumber, CardPrefix, MemberId, PartnerId};
use crate::store::{Store, StoreError, WriteTx, cards, members};

/// How a partner names a member: by id, or by the card the member presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Id(MemberId),
    Card(CardNumber),
}

/// Members given a card per write when the cards of members enrolled before cards are issued.
const BACKFILL_BATCH: i64 = 500;

/// Issues the member a new card, inside the write that enrols them (or replaces their card).
pub(crate) fn issue_card(
    ctx: &Context,
    tx: &mut WriteTx<'_>,
    member: MemberId,
) -> Result<CardNumber, ClearingError> {
    Ok(cards::issue_fresh(
        tx,
        &member.to_string(),
        &ctx.network.card_prefix,
    )?)
}

/// The member a looked-up card names: `404 unknown_card` for a number nobody holds,
/// `410 card_revoked` for a replaced one.
fn holder(row: Option<cards::CardRow>, card: &CardNumber) -> Result<MemberId, ClearingError> {
    let row = row.ok_or_else(|| ClearingError::UnknownCard(card.clone()))?;
    if row.revoked {
        return Err(ClearingError::CardRevoked(card.clone()));
    }
    parse_member(&row.member_id)
}

/// The member's card in use, inside a write.
pub(crate) fn card_of(
    tx: &mut WriteTx<'_>,
    member: MemberId,
) -> Result<Option<String>, ClearingError> {
    Ok(cards::active_for_tx(tx, &member.to_string())?)
}

/// Gives every member without a card in use one: the members enrolled before cards. Runs when
/// the service starts, a batch of writes at a time; a second run finds nobody.
pub(crate) fn issue_missing_cards(store: &Store, prefix: &CardPrefix) -> Result<usize, StoreError> {
    let mut issued = 0;
    loop {
        let waiting = store.read_blocking(|c| cards::members_without(c, BACKFILL_BATCH))?;
        if waiting.is_empty() {
            return Ok(issued);
        }
        let prefix = prefix.clone();
        let n = waiting.len();
        store.write_blocking(move |tx| {
            for member in &waiting {
                cards::issue_fresh(tx, member, &prefix)?;
            }
            Ok::<(), StoreError>(())
        })?;
        issued += n;
    }
}

impl Context {
    /// The member a partner acts for. By id: one linked to the partner (else `404`, as for an id
    /// that does not exist). By card: the member presenting it, whom presenting links to the
    /// partner if they were not (the link shares nothing).
    pub(crate) fn member_for(
        &self,
        tx: &mut WriteTx<'_>,
        partner: &PartnerId,
        named: &MemberRef,
    ) -> Result<MemberId, ClearingError> {
        match named {
            MemberRef::Id(member) => {
                self.require_linked(tx, partner, *member)?;
                Ok(*member)
            }
            MemberRef::Card(card) => self.card_holder(tx, partner, card),
        }
    }

    /// The member where the member acts (a redemption under their authorisation code): by id any
    /// member of the network, by card the one presenting it.
    pub(crate) fn member_acting(
        &self,
        tx: &mut WriteTx<'_>,
        partner: &PartnerId,
        named: &MemberRef,
    ) -> Result<MemberId, ClearingError> {
        match named {
            MemberRef::Id(member) => {
                self.require_member(tx, *member)?;
                Ok(*member)
            }
            MemberRef::Card(card) => self.card_holder(tx, partner, card),
        }
    }

    fn card_holder(
        &self,
        tx: &mut WriteTx<'_>,
        partner: &PartnerId,
        card: &CardNumber,
    ) -> Result<MemberId, ClearingError> {
        let member = holder(cards::lookup_tx(tx, card.as_str())?, card)?;
        let id = member.to_string();
        if !members::linked_tx(tx, partner.as_str(), &id)? {
            // The partner holds no id of its own for the member yet: the card stands for one.
            let external_id = format!("card:{card}");
            let nothing = members::Sharing::default();
            members::link_member(tx, partner.as_str(), &external_id, &id, nothing)?;
        }
        Ok(member)
    }
}

impl Clearing {
    /// The member a card names, for a read (`404 unknown_card`, `410 card_revoked`). Reading
    /// does not link: the partner sees the member only if linked already.
    pub async fn card_member(&self, card: &CardNumber) -> Result<MemberId, ClearingError> {
        let number = card.as_str().to_owned();
        let row = self
            .store()
            .read(move |c| cards::lookup(c, &number))
            .await?;
        holder(row, card)
    }

    /// `POST /v1/me/card/replace`: a new number for a lost card; the old one is refused from
    /// now on (`410 card_revoked`).
    pub fn replace_card_work(member: MemberId) -> impl Work<CardNumber> {
        move |ctx: &Context, tx: &mut WriteTx<'_>| {
            ctx.require_member(tx, member)?;
            cards::revoke(tx, &member.to_string())?;
            issue_card(ctx, tx, member)
        }
    }
}
