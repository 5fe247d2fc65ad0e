//! The journal as files other tools read: CSV, ledger-cli / hledger journal, and beancount.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{Clearing, ClearingError, Invalid, time};
use crate::ledger::{Account, AccountKind, CommittedEntry};
use crate::store;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ledger,
    Beancount,
}

impl std::str::FromStr for Format {
    type Err = ClearingError;
    fn from_str(s: &str) -> Result<Self, ClearingError> {
        match s {
            "csv" => Ok(Format::Csv),
            "ledger" => Ok(Format::Ledger),
            "beancount" => Ok(Format::Beancount),
            _ => Err(ClearingError::InvalidRequest(Invalid::ExportFormat)),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ledger | Format::Beancount => "text/plain; charset=utf-8",
        }
    }
}

/// Characters that make a spreadsheet read a cell as a formula when they lead it (OWASP's CSV
/// injection advice); a tab or carriage return can hide the one that follows.
const FORMULA_LEADS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Bidirectional controls (U+202A–U+202E, U+2066–U+2069): they make a cell read differently
/// from what it holds.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A CSV field of free text (a partner's reference), made inert for whoever opens the file in a
/// spreadsheet: bidi controls become U+FFFD, a leading formula character gets a `'` in front
/// (which the cell then shows), and the field is quoted when it must be.
pub fn csv_field(s: &str) -> String {
    let mut text: String = s
        .chars()
        .map(|c| if is_bidi_control(c) { '\u{fffd}' } else { c })
        .collect();
    if text.starts_with(FORMULA_LEADS) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Text safe on one line of a journal: no control characters, no comment markers.
fn plain(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == ';' || c == '"' || c == '\\' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn date(us: i64) -> String {
    time::rfc3339(us)
        .get(..10)
        .unwrap_or("1970-01-01")
        .to_owned()
}

fn commodity_ledger(unit: &str) -> String {
    if unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        unit.to_owned()
    } else {
        format!("\"{unit}\"")
    }
}

/// The beancount name of an account: a root by family, then each part capitalised.
pub fn beancount_account(account: &Account) -> String {
    let root = match account.kind() {
        AccountKind::Member => "Liabilities:Members",
        AccountKind::Hold => "Liabilities:Holds",
        AccountKind::Campaign => "Liabilities:Campaigns",
        AccountKind::Issuer => "Assets:Issuers",
        AccountKind::Settlement => "Assets:Settlement",
        AccountKind::Commitment => "Assets:Commitments",
        AccountKind::Due => "Assets:Due",
        AccountKind::Bank => "Assets:Bank",
        AccountKind::Fees => "Income:Fees",
        AccountKind::Breakage => "Income:Breakage",
    };
    let name = account.to_string();
    let parts: Vec<String> = name
        .split(':')
        .skip(
            if account.kind() == AccountKind::Fees
                || account.kind() == AccountKind::Bank
                || account.kind() == AccountKind::Breakage
            {
                2
            } else {
                1
            },
        )
        .map(|p| {
            let p = p.replace('_', "-");
            let mut chars = p.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{root}:{}", parts.join(":"))
}

/// An export under way: the next call of [`Clearing::export_next`] renders the page after
/// `after_seq`. It holds one page at a time, so an export of any size takes the same memory
/// (beancount also keeps the names it has declared: one per account, not per entry).
pub struct Export {
    format: Format,
    from_us: Option<i64>,
    to_us: Option<i64>,
    currency: String,
    after_seq: i64,
    started: bool,
    done: bool,
    declared: HashSet<String>,
}

impl Export {
    fn header(&self) -> String {
        match self.format {
            Format::Csv => {
                "seq,entry_id,created_at,kind,partner,member_id,reference,account,unit,amount\n"
                    .into()
            }
            Format::Ledger => {
                "; Coalition journal (ledger-cli / hledger). Amounts debit positive.\n\n".into()
            }
            Format::Beancount => format!(
                "option \"title\" \"Coalition journal\"\noption \"operating_currency\" \"{}\"\n\n",
                self.currency
            ),
        }
    }

    fn render(&mut self, out: &mut String, entries: &[CommittedEntry]) {
        match self.format {
            Format::Csv => csv(out, entries),
            Format::Ledger => ledger(out, entries),
            Format::Beancount => beancount(out, entries, &mut self.declared),
        }
    }
}

fn csv(out: &mut String, entries: &[CommittedEntry]) {
    for e in entries {
        let partner = e.meta.partner.as_ref().map(ToString::to_string);
        let member = e.meta.member.as_ref().map(ToString::to_string);
        for p in &e.postings {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                e.seq,
                e.id,
                time::rfc3339(e.created_at_us),
                e.meta.kind,
                partner.as_deref().unwrap_or_default(),
                member.as_deref().unwrap_or_default(),
                csv_field(e.meta.reference.as_deref().unwrap_or("")),
                p.account,
                p.account.unit(),
                p.amount
            );
        }
    }
}

/// Who an entry's header line names: its partner, or the network for its own entries.
fn party(e: &CommittedEntry) -> String {
    e.meta
        .partner
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "network".into())
}

fn ledger(out: &mut String, entries: &[CommittedEntry]) {
    for e in entries {
        let reference = e.meta.reference.as_deref().map(plain).unwrap_or_default();
        let _ = writeln!(
            out,
            "{} * ({}) {} {} {}",
            date(e.created_at_us),
            e.seq,
            e.meta.kind,
            party(e),
            reference.trim()
        );
        let _ = writeln!(out, "    ; entry: {} hash: {}", e.id, e.hash);
        for p in &e.postings {
            let _ = writeln!(
                out,
                "    {}  {} {}",
                p.account,
                p.amount,
                commodity_ledger(p.account.unit().as_str())
            );
        }
        out.push('\n');
    }
}

/// Beancount wants every commodity declared and every account opened before it is used: each
/// is declared, once, on the date of the entry that first uses it, just before that entry.
fn beancount(out: &mut String, entries: &[CommittedEntry], declared: &mut HashSet<String>) {
    for e in entries {
        let day = date(e.created_at_us);
        for p in &e.postings {
            let unit = p.account.unit().as_str();
            if !declared.contains(unit) {
                let _ = writeln!(out, "{day} commodity {unit}");
                declared.insert(unit.to_owned());
            }
            let account = beancount_account(&p.account);
            if !declared.contains(&account) {
                let _ = writeln!(out, "{day} open {account}");
                declared.insert(account);
            }
        }
        let reference = e.meta.reference.as_deref().map(plain).unwrap_or_default();
        let _ = writeln!(
            out,
            "{day} * \"{}\" \"{} {}\"",
            party(e),
            e.meta.kind,
            reference.trim()
        );
        let _ = writeln!(out, "  entry: \"{}\"", e.id);
        for p in &e.postings {
            let _ = writeln!(
                out,
                "  {}  {} {}",
                beancount_account(&p.account),
                p.amount,
                p.account.unit()
            );
        }
        out.push('\n');
    }
}

impl Clearing {
    /// An export of the journal between `from_us` and `to_us` (created times, inclusive) in
    /// `format`, to be read piece by piece with [`Clearing::export_next`].
    pub fn export(&self, format: Format, from_us: Option<i64>, to_us: Option<i64>) -> Export {
        Export {
            format,
            from_us,
            to_us,
            currency: self.network().settlement_currency.as_str().to_owned(),
            after_seq: 0,
            started: false,
            done: false,
            declared: HashSet::new(),
        }
    }

    /// The next piece of `export`: the header with the first page, then a page of entries at a
    /// time (empty when none of a page's entries is in the period); `None` once it is all out.
    pub async fn export_next(&self, export: &mut Export) -> Result<Option<String>, ClearingError> {
        if export.done {
            return Ok(None);
        }
        let units = self.units().clone();
        let (after, from_us, to_us) = (export.after_seq, export.from_us, export.to_us);
        let (entries, last) = self
            .store()
            .read(move |c| {
                let page = store::ledger::raw_entries_after(
                    c,
                    after,
                    store::ledger::MAX_ENTRIES_PER_PAGE,
                )?;
                let last = page.last().map(|r| r.seq);
                let mut out = Vec::with_capacity(page.len());
                for raw in &page {
                    if from_us.is_some_and(|f| raw.created_at_us < f)
                        || to_us.is_some_and(|t| raw.created_at_us > t)
                    {
                        continue;
                    }
                    out.push(CommittedEntry::from_raw(raw, &units)?);
                }
                Ok((out, last))
            })
            .await?;
        let mut out = String::new();
        if !export.started {
            export.started = true;
            out.push_str(&export.header());
        }
        export.render(&mut out, &entries);
        match last {
            Some(seq) => export.after_seq = seq,
            None => export.done = true,
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn free_text_is_made_inert_for_spreadsheets() {
        assert_eq!(csv_field("pos-1"), "pos-1");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("\u{202e}cod.exe"), "\u{fffd}cod.exe");
        assert_eq!(csv_field("\tx"), "'\tx");
    }
}
