//! The pages' message catalogue: every string a page shows, in English (`en.rs`) and Hebrew
//! (`he.rs`). Templates hold markup only; what they say comes from here.

mod en;
mod he;
mod refusals;

pub use refusals::refusal;

use crate::clearing::reasons::ReasonWords;
use en::EN;
use he::HE;

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    He,
}

impl Lang {
    /// `?lang=` as typed: `en` or `he`.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "en" => Some(Lang::En),
            "he" => Some(Lang::He),
            _ => None,
        }
    }

    /// The first of `Accept-Language`'s languages the pages speak, else English.
    pub fn from_accept(header: Option<&str>) -> Lang {
        header
            .into_iter()
            .flat_map(|h| h.split(','))
            .map(|part| {
                part.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .find_map(|tag| {
                let primary = tag.split('-').next().unwrap_or("");
                match primary {
                    "he" | "iw" => Some(Lang::He),
                    "en" => Some(Lang::En),
                    _ => None,
                }
            })
            .unwrap_or(Lang::En)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::He => "he",
        }
    }

    /// The writing direction of the page.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::He => "rtl",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::He,
            Lang::He => Lang::En,
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::He => &HE,
        }
    }
}

/// Every string of the console's pages.
pub struct Text {
    /// How the history's reasons are worded.
    pub reasons: &'static ReasonWords,
    pub language_name: &'static str,
    pub console: &'static str,
    pub sign_in: &'static str,
    pub sign_in_intro: &'static str,
    pub token_label: &'static str,
    pub token_refused: &'static str,
    pub sign_out: &'static str,
    pub overview: &'static str,
    pub signed_in_as: &'static str,
    pub role_finance: &'static str,
    pub role_operator: &'static str,
    pub partners: &'static str,
    pub partner: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub units: &'static str,
    pub issuer: &'static str,
    pub clearing_value: &'static str,
    pub outstanding: &'static str,
    pub outstanding_intro: &'static str,
    pub points: &'static str,
    pub value: &'static str,
    pub nothing_outstanding: &'static str,
    pub settlements: &'static str,
    pub cutoff: &'static str,
    pub status: &'static str,
    pub no_cycles: &'static str,
    pub close_cycle: &'static str,
    pub close_intro: &'static str,
    pub review: &'static str,
    pub confirm_intro: &'static str,
    pub confirm_close: &'static str,
    pub cancel: &'static str,
    pub positions: &'static str,
    pub net: &'static str,
    pub paid: &'static str,
    pub obligations: &'static str,
    pub owes: &'static str,
    pub amount: &'static str,
    pub cycle: &'static str,
    pub next_page: &'static str,
    pub record_payment: &'static str,
    pub record_payment_intro: &'static str,
    pub bank_reference: &'static str,
    pub record: &'static str,
    pub health: &'static str,
    pub health_intro: &'static str,
    pub check: &'static str,
    pub passed: &'static str,
    pub failed: &'static str,
    pub detail: &'static str,
    pub trial_balance: &'static str,
    pub debits: &'static str,
    pub credits: &'static str,
    pub statement: &'static str,
    pub statements: &'static str,
    pub statement_intro: &'static str,
    pub format: &'static str,
    pub format_json: &'static str,
    pub format_csv: &'static str,
    pub format_camt053: &'static str,
    pub download: &'static str,
    pub signature: &'static str,
    pub signature_intro: &'static str,
    pub reconciliation: &'static str,
    pub reconcile_intro: &'static str,
    pub period_from: &'static str,
    pub period_to: &'static str,
    pub partner_file: &'static str,
    pub compare: &'static str,
    pub report: &'static str,
    pub matched: &'static str,
    pub mismatched: &'static str,
    pub missing_in_network: &'static str,
    pub missing_in_partner: &'static str,
    pub reference: &'static str,
    pub kind: &'static str,
    pub partner_says: &'static str,
    pub network_says: &'static str,
    pub reconcile_no_partner: &'static str,
    pub reconcile_bad_period: &'static str,
    pub reconcile_no_file: &'static str,
    pub reconcile_not_utf8: &'static str,
    pub entries: &'static str,
    pub any: &'static str,
    pub member: &'static str,
    pub member_or_card: &'static str,
    pub from_date: &'static str,
    pub to_date: &'static str,
    pub search: &'static str,
    pub no_entries: &'static str,
    pub entry_id: &'static str,
    pub reverses: &'static str,
    pub postings: &'static str,
    pub account: &'static str,
    pub hash: &'static str,
    pub prev_hash: &'static str,
    pub receipt: &'static str,
    pub later_entries: &'static str,
    pub search_too_long: &'static str,
    pub search_bad_partner: &'static str,
    pub search_bad_kind: &'static str,
    pub search_bad_date: &'static str,
    pub search_bad_member: &'static str,
    pub unavailable: &'static str,
    pub wallet: &'static str,
    pub wallet_link_invalid: &'static str,
    pub wallet_link_used: &'static str,
    pub wallet_open_intro: &'static str,
    pub wallet_not_in_this_app: &'static str,
    pub wallet_refused: &'static str,
    pub authorization_code: &'static str,
    pub link_code: &'static str,
    pub consent_saved: &'static str,
    pub donation_made: &'static str,
    pub qr_of: &'static str,
    pub valid_until: &'static str,
    pub your_card: &'static str,
    pub your_tier_member: &'static str,
    pub qualifying_short: &'static str,
    pub earn_rules: &'static str,
    pub tier_bonus: &'static str,
    pub your_tier: &'static str,
    pub tier_since: &'static str,
    pub tier_until: &'static str,
    pub qualifying_spend: &'static str,
    pub tier_next: &'static str,
    pub tier_to_go: &'static str,
    pub tier_top: &'static str,
    pub card_intro: &'static str,
    pub balances: &'static str,
    pub no_points: &'static str,
    pub brand: &'static str,
    pub here: &'static str,
    pub spend_here: &'static str,
    pub spend_elsewhere: &'static str,
    pub opened_from: &'static str,
    pub may_spend: &'static str,
    pub spend_others: &'static str,
    pub authorize_intro: &'static str,
    pub spend_at: &'static str,
    pub max_points: &'static str,
    pub make_code: &'static str,
    pub coupons: &'static str,
    pub no_coupons: &'static str,
    pub code: &'static str,
    pub campaign: &'static str,
    pub history: &'static str,
    pub no_history: &'static str,
    pub later_history: &'static str,
    pub brands: &'static str,
    pub member_since: &'static str,
    pub sharing: &'static str,
    pub share_balances: &'static str,
    pub share_profile: &'static str,
    pub shares_nothing: &'static str,
    pub save: &'static str,
    pub consent_elsewhere: &'static str,
    pub links_elsewhere: &'static str,
    pub link_intro: &'static str,
    pub donate: &'static str,
    pub donate_intro: &'static str,
    pub charity: &'static str,
    pub give: &'static str,
    pub open_cycle: &'static str,
    pub open_cycle_intro: &'static str,
    pub nothing_open: &'static str,
    pub expiring: &'static str,
    pub on_date: &'static str,
    pub liability: &'static str,
    pub liability_intro: &'static str,
    pub liability_bad_date: &'static str,
    pub as_at: &'static str,
    pub window_from: &'static str,
    pub outstanding_points: &'static str,
    pub earned_12m: &'static str,
    pub redeemed_12m: &'static str,
    pub expired_12m: &'static str,
    pub breakage_rate: &'static str,
    pub insights: &'static str,
    pub insights_intro: &'static str,
    pub insights_for: &'static str,
    pub whole_network: &'static str,
    pub show: &'static str,
    pub computed_at: &'static str,
    pub not_counted: &'static str,
    pub active_members: &'static str,
    pub new_members: &'static str,
    pub visits_30d: &'static str,
    pub tier_mix: &'static str,
    pub members_word: &'static str,
    pub overlap: &'static str,
    pub rewards_title: &'static str,
    pub rewards_intro: &'static str,
    pub no_rewards: &'static str,
    pub places_left: &'static str,
    pub price: &'static str,
    pub where_word: &'static str,
    pub your_claims: &'static str,
    pub claim_code: &'static str,
    pub status_word: &'static str,
    pub claim_claimed: &'static str,
    pub claim_fulfilled: &'static str,
    pub claim_cancelled: &'static str,
    pub reward_word: &'static str,
    pub webhooks: &'static str,
    pub webhooks_intro: &'static str,
    pub no_endpoints: &'static str,
    pub endpoint: &'static str,
    pub pending: &'static str,
    pub failed_deliveries: &'static str,
    pub oldest_pending: &'static str,
    pub enabled: &'static str,
    pub disabled: &'static str,
    pub recent_failures: &'static str,
    pub delivery: &'static str,
    pub event: &'static str,
    pub attempts: &'static str,
    pub last_answer: &'static str,
    pub failed_at: &'static str,
    pub tier_word: &'static str,
    pub campaign_rates: &'static str,
    pub issued: &'static str,
    pub redeemed_word: &'static str,
    pub redemption_rate: &'static str,
    pub no_campaigns: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_first_spoken() {
        assert_eq!(Lang::from_accept(Some("he-IL,he;q=0.9,en;q=0.8")), Lang::He);
        assert_eq!(Lang::from_accept(Some("fr-FR, en;q=0.5")), Lang::En);
        assert_eq!(Lang::from_accept(Some("de")), Lang::En);
        assert_eq!(Lang::from_accept(None), Lang::En);
        assert_eq!(Lang::He.dir(), "rtl");
    }
}
