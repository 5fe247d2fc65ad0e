//! The writer's caches between batches: account balances, authorisations, and the members and
//! links it knows exist. Each change a job makes is logged for undo (`JobLog`).

use super::{CachedAccount, CachedAuthorization, StoreError, WriterState};
use crate::store::bulk::{AccountRecord, AuthorizationUse, insert_rows};
use crate::store::conn::DbConn;
use crate::store::rows::AuthorizationRow;

impl WriterState {
    pub(super) fn write_accounts(
        &mut self,
        conn: &mut DbConn,
        names: &[String],
    ) -> Result<(), StoreError> {
        let mut sorted: Vec<&String> = names.iter().collect();
        // A stable order keeps PostgreSQL's row locks in one order across writers.
        sorted.sort();
        let rows: Vec<AccountRecord<'_>> = sorted
            .iter()
            .filter_map(|name| {
                let a = self.accounts.get(name.as_str())?;
                a.needs_write().then_some(AccountRecord {
                    name,
                    kind: a.kind,
                    unit: &a.unit,
                    balance_minor: a.balance_minor,
                })
            })
            .collect();
        insert_rows(conn, &rows)?;
        for name in names {
            if let Some(a) = self.accounts.get_mut(name)
                && a.touched
            {
                a.stored_minor = Some(a.balance_minor);
                a.touched = false;
            }
            self.dirty_accounts.remove(name);
        }
        Ok(())
    }

    pub(super) fn write_authorizations(
        &mut self,
        conn: &mut DbConn,
        codes: &[String],
    ) -> Result<(), StoreError> {
        let rows: Vec<AuthorizationUse<'_>> = codes
            .iter()
            .filter_map(|c| self.authorizations.get(c))
            .filter(|a| a.row.used_minor != a.stored_used_minor)
            .map(|a| AuthorizationUse(&a.row))
            .collect();
        insert_rows(conn, &rows)?;
        for code in codes {
            if let Some(a) = self.authorizations.get_mut(code) {
                a.stored_used_minor = a.row.used_minor;
            }
            self.dirty_authorizations.remove(code);
        }
        Ok(())
    }

    // --- accounts ---

    pub(in crate::store) fn cached_account(&self, name: &str) -> Option<&CachedAccount> {
        self.accounts.get(name)
    }

    /// Remembers an account as read from the database (a read: nothing to undo).
    pub(in crate::store) fn remember_account(&mut self, name: String, account: CachedAccount) {
        self.accounts.insert(name, account);
    }

    /// Sets a cached account's balance for this job; the account must have been read first.
    pub(in crate::store) fn set_balance(
        &mut self,
        name: &str,
        balance_minor: i64,
    ) -> Result<(), StoreError> {
        let account = self.accounts.get_mut(name).ok_or_else(|| {
            StoreError::Corrupt(format!("account {name} was changed before it was read"))
        })?;
        self.job.accounts.push((name.to_owned(), account.clone()));
        account.balance_minor = balance_minor;
        account.touched = true;
        self.dirty_accounts.insert(name.to_owned());
        Ok(())
    }

    // --- authorisations ---

    pub(in crate::store) fn cached_authorization(&self, code: &str) -> Option<&AuthorizationRow> {
        self.authorizations.get(code).map(|a| &a.row)
    }

    pub(in crate::store) fn remember_authorization(&mut self, row: AuthorizationRow) {
        self.authorizations.insert(
            row.code.clone(),
            CachedAuthorization {
                stored_used_minor: row.used_minor,
                row,
            },
        );
    }

    /// Forgets the cached authorisations of `member_id` (they were ended in the database; the
    /// pending ones were written before, by the direct access that ended them).
    pub(in crate::store) fn forget_authorizations_of(&mut self, member_id: &str) {
        self.authorizations
            .retain(|_, a| a.row.member_id != member_id);
    }

    /// Adds used points to a cached authorisation for this job.
    pub(in crate::store) fn use_authorization(&mut self, code: &str, points_minor: i64) -> bool {
        let Some(a) = self.authorizations.get_mut(code) else {
            return false;
        };
        self.job.authorizations.push((code.to_owned(), a.clone()));
        a.row.used_minor += points_minor;
        self.dirty_authorizations.insert(code.to_owned());
        true
    }

    // --- members ---

    pub(in crate::store) fn knows_member(&self, id: &str) -> bool {
        self.members.contains(id)
    }

    pub(in crate::store) fn remember_member(&mut self, id: &str) {
        if self.members.insert(id.to_owned()) {
            self.job.members.push(id.to_owned());
        }
    }

    /// Forgets a remembered key (a link removed). Not undone with its job: a key missing from
    /// the cache is only read again.
    pub(in crate::store) fn forget_member(&mut self, id: &str) {
        self.members.remove(id);
    }
}
