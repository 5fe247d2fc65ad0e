//! Reconciliation: a partner's own records, as CSV, compared with the network's entries for
//! that partner by reference, kind and unit.

use std::collections::BTreeMap;

use super::input::MAX_PAGE;
use super::reads::EntryQuery;
use super::receipt::Posted;
use super::{Clearing, ClearingError, CsvProblem, time};
use crate::ledger::{AccountKind, Amount, CommittedEntry, EntryKind, PartnerId, format_minor};

/// The most lines one reconciliation file may hold.
pub const MAX_RECONCILIATION_LINES: usize = 100_000;
/// The header a reconciliation file starts with.
pub const HEADER: &str = "reference,kind,amount,unit,occurred_at";

/// Lines are summed per reference, kind and unit: a basket paid in two brands' points under one
/// reference is two amounts, never one sum across units.
type Key = (String, String, String);

/// One side's amount for a `(reference, kind, unit)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub reference: String,
    pub kind: String,
    pub amount: String,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub reference: String,
    pub kind: String,
    pub unit: String,
    pub partner_amount: String,
    pub network_amount: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub matched: usize,
    pub missing_in_network: Vec<Line>,
    pub missing_in_partner: Vec<Line>,
    pub mismatched: Vec<Mismatch>,
}

/// What an entry amounts to for the partner that made it: the points it moved (a capture's
/// captured points), or for a coupon redemption the discount it is owed.
pub fn partner_amount(entry: &CommittedEntry) -> Option<(Amount, String)> {
    let kind = match entry.meta.kind {
        EntryKind::Capture => AccountKind::Issuer,
        EntryKind::CouponRedemption => AccountKind::Settlement,
        EntryKind::Settlement
        | EntryKind::Payment
        | EntryKind::CouponReserve
        | EntryKind::CouponRelease => return None,
        _ => AccountKind::Member,
    };
    let line = entry
        .postings
        .iter()
        .rev()
        .find(|p| p.account.kind() == kind)?;
    let amount = line
        .amount
        .checked_neg()
        .filter(|_| line.amount.minor() < 0)
        .unwrap_or(line.amount);
    Some((amount, line.account.unit().to_string()))
}

fn bad(line: usize, why: CsvProblem) -> ClearingError {
    ClearingError::InvalidCsv { line, why }
}

impl Clearing {
    /// Compares `csv` (the partner's own records between `from_us` and `to_us`) with the
    /// network's entries for `partner` in the same period.
    pub async fn reconcile(
        &self,
        partner: &PartnerId,
        from_us: i64,
        to_us: i64,
        csv: &str,
    ) -> Result<Report, ClearingError> {
        let theirs = self.partner_sums(csv)?;
        let ours = self.network_sums(partner, from_us, to_us).await?;
        Ok(self.compare(theirs, ours))
    }

    /// The partner's file summed per key. Sums in i128: 100 000 lines of the largest amount
    /// cannot overflow it. Read with the `csv` crate: quoted fields (a reference with a comma, as
    /// the journal export writes one) are read as CSV means them.
    fn partner_sums(&self, csv: &str) -> Result<BTreeMap<Key, i128>, ClearingError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(csv.as_bytes());
        let mut records = reader.records();
        let syntax = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line());
            bad(
                usize::try_from(line).unwrap_or(usize::MAX),
                CsvProblem::Syntax(e.to_string()),
            )
        };
        match records.next().transpose().map_err(syntax)? {
            Some(header) if header.iter().eq(HEADER.split(',')) => {}
            _ => return Err(bad(1, CsvProblem::Header(HEADER))),
        }
        let mut theirs: BTreeMap<Key, i128> = BTreeMap::new();
        for record in records {
            let record = record.map_err(syntax)?;
            let n = record
                .position()
                .and_then(|p| usize::try_from(p.line()).ok())
                .unwrap_or(usize::MAX);
            if n > MAX_RECONCILIATION_LINES + 1 {
                return Err(bad(n, CsvProblem::TooManyLines(MAX_RECONCILIATION_LINES)));
            }
            if record.iter().all(str::is_empty) {
                continue;
            }
            let (key, minor) = self.partner_line(n, &record)?;
            *theirs.entry(key).or_insert(0) += i128::from(minor);
        }
        Ok(theirs)
    }

    /// Line `n` of the partner's file: its key and amount in minor units.
    fn partner_line(
        &self,
        n: usize,
        record: &csv::StringRecord,
    ) -> Result<(Key, i64), ClearingError> {
        let fields: Vec<&str> = record.iter().collect();
        let [reference, kind, amount, unit, occurred_at] = fields.as_slice() else {
            return Err(bad(n, CsvProblem::Fields(fields.len())));
        };
        let shown = |text: &str| text.chars().take(20).collect::<String>();
        kind.parse::<EntryKind>()
            .map_err(|_| bad(n, CsvProblem::Kind(shown(kind))))?;
        let code = unit
            .parse()
            .map_err(|_| bad(n, CsvProblem::Unit(shown(unit))))?;
        let scale = self
            .units()
            .scale_of(&code)
            .ok_or_else(|| bad(n, CsvProblem::Unit(shown(unit))))?;
        let amount = Amount::parse(amount, scale).map_err(|e| bad(n, e.into()))?;
        if !occurred_at.is_empty() && time::parse_rfc3339(occurred_at).is_none() {
            return Err(bad(n, CsvProblem::Time));
        }
        let key = (
            (*reference).to_owned(),
            (*kind).to_owned(),
            (*unit).to_owned(),
        );
        Ok((key, amount.minor()))
    }

    /// The network's entries for `partner` in the period, summed per key, page by page.
    async fn network_sums(
        &self,
        partner: &PartnerId,
        from_us: i64,
        to_us: i64,
    ) -> Result<BTreeMap<Key, i128>, ClearingError> {
        let mut ours: BTreeMap<Key, i128> = BTreeMap::new();
        let mut after = 0;
        loop {
            let query = EntryQuery {
                partner: Some(partner.clone()),
                since_us: Some(from_us),
                ..EntryQuery::default()
            };
            let (page, next): (Vec<Posted>, Option<i64>) =
                self.entries_for(query, after, MAX_PAGE).await?;
            for p in page.iter().filter(|p| p.entry.created_at_us <= to_us) {
                let (Some(reference), Some((amount, unit))) =
                    (&p.entry.meta.reference, partner_amount(&p.entry))
                else {
                    continue;
                };
                *ours
                    .entry((reference.clone(), p.entry.meta.kind.to_string(), unit))
                    .or_insert(0) += i128::from(amount.minor());
            }
            match next {
                Some(n) => after = n,
                None => return Ok(ours),
            }
        }
    }

    /// Both sides' sums side by side: matched, mismatched, or missing on one side.
    fn compare(&self, theirs: BTreeMap<Key, i128>, mut ours: BTreeMap<Key, i128>) -> Report {
        let show = |minor: i128, unit: &str| {
            let places = unit
                .parse()
                .ok()
                .and_then(|u| self.units().scale_of(&u))
                .map_or(0, |s| s.places());
            format_minor(minor, places)
        };
        let mut report = Report::default();
        for (key, amount) in theirs {
            let (reference, kind, unit) = &key;
            match ours.remove(&key) {
                Some(a) if a == amount => report.matched += 1,
                Some(a) => report.mismatched.push(Mismatch {
                    partner_amount: format!("{} {unit}", show(amount, unit)),
                    network_amount: format!("{} {unit}", show(a, unit)),
                    reference: reference.clone(),
                    kind: kind.clone(),
                    unit: unit.clone(),
                }),
                None => report.missing_in_network.push(Line {
                    amount: show(amount, unit),
                    reference: reference.clone(),
                    kind: kind.clone(),
                    unit: unit.clone(),
                }),
            }
        }
        for ((reference, kind, unit), amount) in ours {
            report.missing_in_partner.push(Line {
                amount: show(amount, &unit),
                reference,
                kind,
                unit,
            });
        }
        report
    }
}
