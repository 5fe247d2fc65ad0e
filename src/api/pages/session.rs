//! Server-side sessions of the pages: a random id in an `HttpOnly` cookie, what the session may
//! do kept here, a CSRF token per session, an idle timeout, never outliving the token that
//! opened it, revoked at sign-out. Held in memory: a restart signs everybody out.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use ring::rand::{SecureRandom, SystemRandom};

use super::i18n::Lang;
use crate::clearing::tokens::FinanceIdentity;

/// Sessions kept at once; past it the oldest-expiring is dropped.
pub const MAX_SESSIONS: usize = 10_000;
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

/// One signed-in console user.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub who: FinanceIdentity,
    pub csrf: String,
    pub lang: Lang,
    /// When the token that opened the session expires: the session ends then at the latest.
    pub token_exp_secs: i64,
    pub idle_until_secs: i64,
}

/// The console's sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    console: Mutex<HashMap<String, ConsoleSession>>,
}

impl Sessions {
    /// Opens a session; returns its id (`None` if no random id could be made).
    pub fn open(&self, session: ConsoleSession) -> Option<String> {
        let id = secret()?;
        let mut all = self.console.lock().unwrap_or_else(PoisonError::into_inner);
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
    pub fn touch(&self, id: &str, now_secs: i64) -> Option<ConsoleSession> {
        let mut all = self.console.lock().unwrap_or_else(PoisonError::into_inner);
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
        let mut all = self.console.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = all.get_mut(id) {
            s.lang = lang;
        }
    }

    /// Ends a session (sign-out).
    pub fn close(&self, id: &str) {
        self.console
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}
