//! The writer's caches between batches: account balances, authorisations, and the members and
//! links it knows exist. Each change a job makes is logged for undo (`JobLog`).

use super::{CachedAccount, CachedAuthorization, StoreError, WriterState};
use crate::store::rows::AuthorizationRow;

impl WriterState {
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
