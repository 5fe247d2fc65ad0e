//! What a check found: the first few problems described, the rest counted; and the outcome.

use serde::Serialize;

/// How many problems each check describes before it only counts them.
const MAX_DETAILS_PER_CHECK: usize = 5;

/// The outcome of one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Problems found by one check: the first few described, the rest counted.
#[derive(Debug, Default)]
pub(super) struct Findings {
    details: Vec<String>,
    count: u64,
}

impl Findings {
    pub(super) fn add(&mut self, detail: impl FnOnce() -> String) {
        self.count += 1;
        if self.details.len() < MAX_DETAILS_PER_CHECK {
            self.details.push(detail());
        }
    }

    pub(super) fn into_check(self, name: &str, ok_detail: String) -> Check {
        if self.count == 0 {
            return Check {
                name: name.to_owned(),
                ok: true,
                detail: ok_detail,
            };
        }
        let mut detail = self.details.join("; ");
        if self.count > self.details.len() as u64 {
            detail.push_str(&format!(
                "; and {} more",
                self.count - self.details.len() as u64
            ));
        }
        Check {
            name: name.to_owned(),
            ok: false,
            detail,
        }
    }
}
