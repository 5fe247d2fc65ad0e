//! A partner's statement in its three forms — JSON, CSV and ISO 20022 camt.053 — written piece by
//! piece (head, pages of lines, tail) so that a statement of any length is never held whole.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::settlement::money;
use crate::clearing::export::csv_field;
use crate::clearing::settlement::Settlement;
use crate::clearing::time;
use crate::ledger::Scale;
use crate::store::settlements::MoneyLine;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    pub entry_id: String,
    pub seq: i64,
    pub created_at: String,
    pub kind: String,
    pub reference: Option<String>,
    pub member_id: Option<String>,
    pub account: String,
    /// From the partner's side: above zero the network owes the partner.
    pub amount: String,
}

/// The JSON statement (documented as a whole; written as it is read).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementView {
    pub settlement_id: String,
    pub partner: String,
    pub currency: String,
    pub cutoff: String,
    /// Each cycle nets from zero.
    pub opening_balance: String,
    /// The net: the sum of the lines.
    pub closing_balance: String,
    pub net: String,
    pub entries: Vec<StatementLine>,
}

/// The forms a statement comes in, chosen by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFormat {
    Json,
    Csv,
    /// ISO 20022 camt.053.001.08, bank to customer statement.
    Camt053,
}

impl StatementFormat {
    /// JSON unless `accept` asks for CSV or XML.
    pub fn from_accept(accept: &str) -> Self {
        if accept.contains("text/csv") {
            Self::Csv
        } else if accept.contains("application/xml") || accept.contains("text/xml") {
            Self::Camt053
        } else {
            Self::Json
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Camt053 => "application/xml",
        }
    }
}

/// Writes one statement: [`StatementWriter::head`], then [`StatementWriter::lines`] for each
/// page, then [`StatementWriter::tail`].
pub struct StatementWriter<'a> {
    pub format: StatementFormat,
    pub settlement: &'a Settlement,
    pub party: &'a str,
    /// The party's position, which the lines must add up to.
    pub net_minor: i64,
    pub scale: Scale,
    /// The network's name, the statement's servicer in camt.053.
    pub network: &'a str,
    /// Lines written so far (JSON needs a comma before all but the first).
    pub written: u64,
}

impl StatementWriter<'_> {
    pub fn head(&self, out: &mut impl Write) -> io::Result<()> {
        let row = &self.settlement.row;
        match self.format {
            StatementFormat::Json => {
                let field = |v: &str| serde_json::to_string(v).unwrap_or_default();
                let net = money(self.net_minor, self.scale);
                write!(
                    out,
                    "{{\n  \"settlement_id\": {},\n  \"partner\": {},\n  \"currency\": {},\n  \
                     \"cutoff\": {},\n  \"opening_balance\": {},\n  \"closing_balance\": {},\n  \
                     \"net\": {},\n  \"entries\": [",
                    field(&row.id),
                    field(self.party),
                    field(&row.currency),
                    field(&time::rfc3339(row.cutoff_us)),
                    field(&money(0, self.scale)),
                    field(&net),
                    field(&net),
                )
            }
            StatementFormat::Csv => {
                out.write_all(b"entry_id,seq,created_at,kind,reference,member_id,account,amount\n")
            }
            StatementFormat::Camt053 => self.camt_head(out),
        }
    }

    pub fn lines(&mut self, out: &mut impl Write, lines: &[MoneyLine]) -> io::Result<()> {
        for l in lines {
            match self.format {
                StatementFormat::Json => {
                    let line = StatementLine {
                        entry_id: l.entry_id.clone(),
                        seq: l.seq,
                        created_at: time::rfc3339(l.created_at_us),
                        kind: l.kind.clone(),
                        reference: l.reference.clone(),
                        member_id: l.member.clone(),
                        account: l.account.clone(),
                        amount: money(-l.amount_minor, self.scale),
                    };
                    out.write_all(if self.written == 0 {
                        b"\n    "
                    } else {
                        b",\n    "
                    })?;
                    serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
                }
                StatementFormat::Csv => writeln!(
                    out,
                    "{},{},{},{},{},{},{},{}",
                    l.entry_id,
                    l.seq,
                    time::rfc3339(l.created_at_us),
                    l.kind,
                    csv_field(l.reference.as_deref().unwrap_or("")),
                    l.member.as_deref().unwrap_or(""),
                    l.account,
                    money(-l.amount_minor, self.scale)
                )?,
                StatementFormat::Camt053 => self.camt_entry(out, l)?,
            }
            self.written += 1;
        }
        Ok(())
    }

    pub fn tail(&self, out: &mut impl Write) -> io::Result<()> {
        match self.format {
            StatementFormat::Json if self.written == 0 => out.write_all(b"]\n}\n"),
            StatementFormat::Json => out.write_all(b"\n  ]\n}\n"),
            StatementFormat::Csv => Ok(()),
            StatementFormat::Camt053 => {
                out.write_all(b"    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n")
            }
        }
    }
}

/// camt.053's identifiers are `Max35Text` (an account's `Othr/Id` `Max34Text`).
const CAMT_MAX_ID_CHARS: usize = 35;

/// A uuid as 32 hex digits: within the 35 characters camt.053 allows an identifier.
fn compact_uuid(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .take(CAMT_MAX_ID_CHARS)
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// `(CdtDbtInd, amount)` of a signed amount in minor units.
fn credit_debit(minor: i64, scale: Scale) -> (&'static str, String) {
    if minor < 0 {
        ("DBIT", money(minor.saturating_neg(), scale))
    } else {
        ("CRDT", money(minor, scale))
    }
}

impl StatementWriter<'_> {
    fn day(us: i64) -> String {
        time::rfc3339(us)
            .get(..10)
            .unwrap_or("1970-01-01")
            .to_owned()
    }

    /// `GrpHdr`, the statement's account and its opening and closing balances.
    fn camt_head(&self, out: &mut impl Write) -> io::Result<()> {
        let row = &self.settlement.row;
        let ccy = xml_escape(&row.currency);
        let now = time::rfc3339(row.created_at_us);
        let date = Self::day(row.cutoff_us);
        // One message per settlement and party: a digest of the two names it, in 35 characters.
        let message = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{}/{}", row.id, self.party).as_bytes(),
        );
        let message_id: String = message
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .chars()
            .take(CAMT_MAX_ID_CHARS)
            .collect();
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        out.write_all(
            b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n  <BkToCstmrStmt>\n",
        )?;
        write!(
            out,
            "    <GrpHdr>\n      <MsgId>{message_id}</MsgId>\n      <CreDtTm>{now}</CreDtTm>\n    </GrpHdr>\n"
        )?;
        write!(
            out,
            "    <Stmt>\n      <Id>{}</Id>\n      <CreDtTm>{now}</CreDtTm>\n      <Acct>\n        \
             <Id><Othr><Id>{}</Id></Othr></Id>\n        <Ccy>{ccy}</Ccy>\n        \
             <Nm>settlement:{}:{ccy}</Nm>\n        <Svcr><FinInstnId><Nm>{}</Nm></FinInstnId></Svcr>\n      </Acct>\n",
            compact_uuid(&row.id),
            xml_escape(self.party),
            xml_escape(self.party),
            xml_escape(self.network)
        )?;
        for (code, minor) in [("OPBD", 0), ("CLBD", self.net_minor)] {
            let (ind, amount) = credit_debit(minor, self.scale);
            write!(
                out,
                "      <Bal>\n        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>\n        \
                 <Amt Ccy=\"{ccy}\">{amount}</Amt>\n        <CdtDbtInd>{ind}</CdtDbtInd>\n        \
                 <Dt><Dt>{date}</Dt></Dt>\n      </Bal>\n"
            )?;
        }
        Ok(())
    }

    /// One booked entry. The partner's reference goes in `EndToEndId` when it fits 35
    /// characters, and whole in `AddtlTxInf` (up to 500) with the account.
    fn camt_entry(&self, out: &mut impl Write, l: &MoneyLine) -> io::Result<()> {
        let ccy = xml_escape(&self.settlement.row.currency);
        let (ind, amount) = credit_debit(l.amount_minor.saturating_neg(), self.scale);
        let reference = l.reference.as_deref().unwrap_or("");
        let end_to_end = if reference.is_empty() || reference.chars().count() > CAMT_MAX_ID_CHARS {
            "NOTPROVIDED".to_owned()
        } else {
            xml_escape(reference)
        };
        let info = if reference.is_empty() {
            xml_escape(&l.account)
        } else {
            xml_escape(&format!("{} {reference}", l.account))
        };
        write!(
            out,
            "      <Ntry>\n        <NtryRef>{}</NtryRef>\n        <Amt Ccy=\"{ccy}\">{amount}</Amt>\n        \
             <CdtDbtInd>{ind}</CdtDbtInd>\n        <Sts><Cd>BOOK</Cd></Sts>\n        \
             <BookgDt><Dt>{}</Dt></BookgDt>\n        <ValDt><Dt>{}</Dt></ValDt>\n        \
             <AcctSvcrRef>{}</AcctSvcrRef>\n        <BkTxCd><Prtry><Cd>{}</Cd></Prtry></BkTxCd>\n        \
             <NtryDtls><TxDtls><Refs><EndToEndId>{end_to_end}</EndToEndId></Refs><AddtlTxInf>{info}</AddtlTxInf></TxDtls></NtryDtls>\n      </Ntry>\n",
            l.seq,
            Self::day(l.created_at_us),
            Self::day(self.settlement.row.cutoff_us),
            compact_uuid(&l.entry_id),
            xml_escape(&l.kind),
        )
    }
}
