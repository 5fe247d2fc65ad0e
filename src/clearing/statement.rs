//! A partner's statement of a closed cycle: rendered a window of the chain at a time into a
//! spool file, signed over those exact bytes (a detached JWS, computed by streaming the file),
//! then sent from the file. Memory stays flat however many lines the statement has; the disk
//! holds one copy while it is sent (the file is unlinked at once and goes when it is closed).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use std::sync::Arc;

use super::context::Context;
use super::settlement::Settlement;
use super::views::statement::{StatementFormat, StatementWriter};
use super::{Clearing, ClearingError, Missing};
use crate::crypto::jws;
use crate::ledger::{NETWORK, Scale};
use crate::store::settlements as store;
use crate::store::{DbConn, StoreError};

/// How many chain positions a statement reads at once.
pub const STATEMENT_WINDOW_ENTRIES: i64 = 2_000;

/// A statement ready to send: the spooled body, its length and its signature.
pub struct SignedStatement {
    /// Positioned at the start; already unlinked from the file system.
    pub body: File,
    pub len_bytes: u64,
    /// `Statement-Signature`: a detached compact JWS over the body.
    pub signature: String,
    pub format: StatementFormat,
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Database(format!("statement spool: {e}"))
}

/// A new file in the system's temporary folder, open for reading and writing, already unlinked.
fn spool_file() -> std::io::Result<File> {
    let path: PathBuf =
        std::env::temp_dir().join(format!("coalition-statement-{}", uuid::Uuid::new_v4()));
    let mut options = File::options();
    options.read(true).write(true).create_new(true);
    // The statement is the partner's money: no other user of the machine may open it in the
    // moment before it is unlinked.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

impl Clearing {
    /// `party`'s statement of settlement `id` in `format`, every money line behind its net.
    pub async fn statement(
        &self,
        id: &str,
        party: &str,
        format: StatementFormat,
    ) -> Result<SignedStatement, ClearingError> {
        let settlement = self.settlement(id).await?;
        let known = party == NETWORK
            || party
                .parse()
                .ok()
                .and_then(|p| self.network().partner(&p))
                .is_some();
        if !known {
            return Err(ClearingError::NotFound(Missing::Partner(
                party.chars().take(40).collect(),
            )));
        }
        let net_minor = settlement
            .positions
            .iter()
            .find(|p| p.party == party)
            .map_or(0, |p| p.net_minor);
        let currency = settlement.row.currency.clone();
        let mut accounts = vec![format!("settlement:{party}:{currency}")];
        if party == NETWORK {
            accounts.push(format!("network:fees:{currency}"));
        }
        let job = Job {
            settlement,
            party: party.to_owned(),
            currency,
            accounts,
            net_minor,
            scale: self.network().currency_scale,
            network: self.network().name.clone(),
            format,
            context: self.context().clone(),
        };
        Ok(self.store().read(move |c| job.run(c)).await?)
    }
}

/// Everything a statement is made from, moved onto the blocking pool that reads it.
struct Job {
    settlement: Settlement,
    party: String,
    currency: String,
    accounts: Vec<String>,
    net_minor: i64,
    scale: Scale,
    network: String,
    format: StatementFormat,
    context: Arc<Context>,
}

impl Job {
    /// Spools the statement a window at a time, checks its lines add up to the position, and
    /// signs the spooled bytes.
    fn run(self, c: &mut DbConn) -> Result<SignedStatement, StoreError> {
        let mut file = spool_file().map_err(io_error)?;
        let mut writer = StatementWriter {
            format: self.format,
            settlement: &self.settlement,
            party: &self.party,
            net_minor: self.net_minor,
            scale: self.scale,
            network: &self.network,
            written: 0,
        };
        let mut out = BufWriter::new(&mut file);
        writer.head(&mut out).map_err(io_error)?;
        let (mut after, last) = (self.settlement.row.first_seq, self.settlement.row.last_seq);
        let mut sum_minor: i64 = 0;
        while after < last {
            let upto = after.saturating_add(STATEMENT_WINDOW_ENTRIES).min(last);
            let lines = store::money_lines(c, after, upto, &self.currency, Some(&self.accounts))?;
            for l in &lines {
                sum_minor = sum_minor
                    .checked_sub(l.amount_minor)
                    .ok_or_else(|| StoreError::Corrupt("a statement's lines overflow".into()))?;
            }
            writer.lines(&mut out, &lines).map_err(io_error)?;
            after = upto;
        }
        writer.tail(&mut out).map_err(io_error)?;
        out.flush().map_err(io_error)?;
        drop(out);
        if sum_minor != self.net_minor {
            return Err(StoreError::Corrupt(format!(
                "the lines of {}'s statement add up to {sum_minor}, its position is {}",
                self.party, self.net_minor
            )));
        }
        let len_bytes = file.stream_position().map_err(io_error)?;
        let signature = jws::sign_detached_streamed(&self.context.key, &self.context.kid, |w| {
            let mut f = &file;
            f.seek(SeekFrom::Start(0))?;
            let copied = std::io::copy(&mut f.take(len_bytes), w)?;
            if copied == len_bytes {
                Ok(())
            } else {
                Err(std::io::Error::other("the spool file shrank"))
            }
        })
        .map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        Ok(SignedStatement {
            body: file,
            len_bytes,
            signature,
            format: self.format,
        })
    }
}
