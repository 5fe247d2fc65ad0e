//! Server-side sessions of the pages: a random id in an `HttpOnly` cookie, what the session may
//! do kept here, a CSRF token per session, an idle timeout, never outliving the token that
//! opened it, revoked at sign-out. Held in memory: a restart signs everybody out.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use ring::rand::{SecureRandom, SystemRandom};

use super::i18n::Lang;
use crate::clearing::tokens::{FinanceIdentity, MemberIdentity};

/// Sessions kept at once, per kind; past it the oldest-expiring is dropped.
pub const MAX_SESSIONS: usize = 10_000;
/// Wallet sign-in tokens remembered as used at once (each until it expires).
pub const MAX_USED_TOKENS: usize = 100_000;
/// A session unused this long is over.
pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;
/// Random bytes in a session id or CSRF token.
const SECRET_BYTES: usize = 32;

/// A random secret as hex (`None` only if the system's random source fails).
pub fn secret() -> Option<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// One signed-in user: who (a finance user, or a member), the form token, the language.
#[derive(Debug, Clone)]
pub struct Session<T> {
    pub who: T,
    pub csrf: String,
    pub lang: Lang,
    /// When the token that opened the session expires: the session ends then at the latest.
    pub token_exp_secs: i64,
    pub idle_until_secs: i64,
}

/// A console user's session.
pub type ConsoleSession = Session<FinanceIdentity>;
/// A member's wallet session.
pub type WalletSession = Session<MemberIdentity>;

/// The sessions of one kind.
#[derive(Debug)]
pub struct SessionStore<T> {
    all: Mutex<HashMap<String, Session<T>>>,
}

impl<T> Default for SessionStore<T> {
    fn default() -> Self {
        Self {
            all: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> SessionStore<T> {
    /// Opens a session; returns its id (`None` if no random id could be made). A new id every
    /// time: an id known before sign-in is never the signed-in one (no session fixation).
    pub fn open(&self, session: Session<T>) -> Option<String> {
        let id = secret()?;
        let mut all = self.all.lock().unwrap_or_else(PoisonError::into_inner);
        if all.len() >= MAX_SESSIONS {
            let oldest = all
                .iter()
                .min_by_key(|(_, s)| s.idle_until_secs)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                all.remove(&k);
            }
        }
        all.insert(id.clone(), session);
        Some(id)
    }

    /// The live session `id` names, its idle time renewed; an expired one is removed.
    pub fn touch(&self, id: &str, now_secs: i64) -> Option<Session<T>> {
        let mut all = self.all.lock().unwrap_or_else(PoisonError::into_inner);
        let live = all
            .get(id)
            .is_some_and(|s| now_secs < s.idle_until_secs && now_secs < s.token_exp_secs);
        if !live {
            all.remove(id);
            return None;
        }
        let s = all.get_mut(id)?;
        s.idle_until_secs = now_secs.saturating_add(IDLE_TIMEOUT_SECS);
        Some(s.clone())
    }

    /// Changes the session's language.
    pub fn set_lang(&self, id: &str, lang: Lang) {
        let mut all = self.all.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = all.get_mut(id) {
            s.lang = lang;
        }
    }

    /// Ends a session (sign-out).
    pub fn close(&self, id: &str) {
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

/// Every page session of the process, and the wallet sign-in tokens already used.
#[derive(Debug, Default)]
pub struct Sessions {
    pub console: SessionStore<FinanceIdentity>,
    pub wallet: SessionStore<MemberIdentity>,
    /// `jti` → the token's expiry: a wallet link opens one session, once.
    used_tokens: Mutex<HashMap<String, i64>>,
}

impl Sessions {
    /// Marks the token `jti` (expiring at `exp_secs`) used; `false` if it was used before, or
    /// if too many unexpired tokens are remembered to take another (refused rather than
    /// forgotten: forgetting would let a used link open a second session).
    pub fn consume_token(&self, jti: &str, exp_secs: i64, now_secs: i64) -> bool {
        let mut used = self
            .used_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if used.contains_key(jti) {
            return false;
        }
        if used.len() >= MAX_USED_TOKENS {
            used.retain(|_, exp| *exp > now_secs);
            if used.len() >= MAX_USED_TOKENS {
                return false;
            }
        }
        used.insert(jti.to_owned(), exp_secs);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_taken_once_and_forgotten_only_after_it_expires() {
        let s = Sessions::default();
        assert!(s.consume_token("a", 100, 0));
        assert!(!s.consume_token("a", 100, 0));
        assert!(!s.consume_token("a", 100, 99));
        assert!(s.consume_token("b", 100, 0));
    }
}
