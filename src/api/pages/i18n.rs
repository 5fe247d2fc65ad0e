//! The pages' message catalogue: every string a page shows, in English and Hebrew. Templates
//! hold markup only; what they say comes from here.

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
}

pub static EN: Text = Text {
    language_name: "English",
    console: "Finance console",
    sign_in: "Sign in",
    sign_in_intro: "Paste a finance or operator token (coalition token --role finance).",
    token_label: "Token",
    token_refused: "That token was not accepted: it is malformed, expired or not a finance token.",
    sign_out: "Sign out",
    overview: "Overview",
    signed_in_as: "Signed in as",
    role_finance: "finance",
    role_operator: "operator",
    partners: "Partners",
    partner: "Partner",
    name: "Name",
    unit: "Unit",
    units: "Units",
    issuer: "Issuer",
    clearing_value: "Clearing value",
    outstanding: "Outstanding points",
    outstanding_intro: "Points members hold or have on hold, per issuer: each issuer's liability, at the clearing value.",
    points: "Points",
    value: "Value",
    nothing_outstanding: "No points are outstanding.",
    settlements: "Settlement cycles",
    cutoff: "Cut-off",
    status: "Status",
    no_cycles: "No cycle has been closed yet.",
    close_cycle: "Close a cycle",
    close_intro: "Every entry up to the cut-off that no earlier cycle closed is netted into one position per partner.",
    review: "Review",
    confirm_intro: "Closing a cycle cannot be undone. Close the cycle at this cut-off?",
    confirm_close: "Close the cycle",
    cancel: "Cancel",
    positions: "Positions",
    net: "Net",
    paid: "Paid",
    obligations: "Obligations",
    owes: "owes",
    amount: "Amount",
    cycle: "Cycle",
    next_page: "Later cycles",
    record_payment: "Record a payment",
    record_payment_intro: "Money that moved through the network's bank account for a party's position.",
    bank_reference: "Bank reference",
    record: "Record",
    health: "Ledger health",
    health_intro: "Every ledger invariant, checked now over one consistent snapshot, and the trial balance per unit.",
    check: "Check",
    passed: "passed",
    failed: "FAILED",
    detail: "Detail",
    trial_balance: "Trial balance",
    debits: "Debits",
    credits: "Credits",
    statement: "Statement",
    statements: "Statements",
    statement_intro: "Every entry behind this party's net, in three formats. Each file is signed by the network's key over its exact bytes; the signature comes with the download (the Statement-Signature header) and as its own file.",
    format: "Format",
    format_json: "JSON",
    format_csv: "CSV (a line per entry)",
    format_camt053: "ISO 20022 camt.053 (XML)",
    download: "Download",
    signature: "Signature",
    signature_intro: "The JSON statement's detached JWS (RFC 7515 appendix F), made now. Verify it with the network's public key at /.well-known/jwks.json.",
    reconciliation: "Reconciliation",
    reconcile_intro: "Upload a partner's own records for a period as CSV, one line per movement, with this header; they are compared with the network's entries for that partner by reference, kind and unit.",
    period_from: "From (RFC 3339)",
    period_to: "To (RFC 3339)",
    partner_file: "The partner's file",
    compare: "Compare",
    report: "Report",
    matched: "Matched",
    mismatched: "Different amounts",
    missing_in_network: "In the partner's file only",
    missing_in_partner: "In the network's entries only",
    reference: "Reference",
    kind: "Kind",
    partner_says: "Partner's amount",
    network_says: "Network's amount",
    reconcile_no_partner: "Choose one of the partners listed.",
    reconcile_bad_period: "From and to must be RFC 3339 times, such as 2026-11-01T00:00:00Z.",
    reconcile_no_file: "Choose the partner's CSV file.",
    reconcile_not_utf8: "The file is not UTF-8 text.",
};

pub static HE: Text = Text {
    language_name: "עברית",
    console: "מסוף כספים",
    sign_in: "כניסה",
    sign_in_intro: "הדביקו אסימון כספים או מפעיל (coalition token --role finance).",
    token_label: "אסימון",
    token_refused: "האסימון לא התקבל: הוא פגום, פג תוקפו או שאינו אסימון כספים.",
    sign_out: "יציאה",
    overview: "סקירה",
    signed_in_as: "מחובר כ",
    role_finance: "כספים",
    role_operator: "מפעיל",
    partners: "שותפים",
    partner: "שותף",
    name: "שם",
    unit: "יחידה",
    units: "יחידות",
    issuer: "מנפיק",
    clearing_value: "ערך סליקה",
    outstanding: "נקודות במחזור",
    outstanding_intro: "נקודות שבידי חברים או בהקפאה, לפי מנפיק: ההתחייבות של כל מנפיק, בערך הסליקה.",
    points: "נקודות",
    value: "ערך",
    nothing_outstanding: "אין נקודות במחזור.",
    settlements: "מחזורי סליקה",
    cutoff: "מועד חיתוך",
    status: "מצב",
    no_cycles: "עדיין לא נסגר מחזור.",
    close_cycle: "סגירת מחזור",
    close_intro: "כל רישום עד מועד החיתוך שלא נסגר במחזור קודם מקוזז לפוזיציה אחת לכל שותף.",
    review: "בדיקה",
    confirm_intro: "סגירת מחזור אינה הפיכה. לסגור את המחזור במועד חיתוך זה?",
    confirm_close: "סגירת המחזור",
    cancel: "ביטול",
    positions: "פוזיציות",
    net: "נטו",
    paid: "שולם",
    obligations: "התחייבויות",
    owes: "חייב ל",
    amount: "סכום",
    cycle: "מחזור",
    next_page: "מחזורים מאוחרים יותר",
    record_payment: "רישום תשלום",
    record_payment_intro: "כסף שעבר דרך חשבון הבנק של הרשת עבור פוזיציה של צד.",
    bank_reference: "אסמכתת בנק",
    record: "רישום",
    health: "תקינות היומן",
    health_intro: "כל אינווריאנט של היומן, נבדק עכשיו על תמונת מצב עקבית אחת, ומאזן הבוחן לכל יחידה.",
    check: "בדיקה",
    passed: "תקין",
    failed: "נכשל",
    detail: "פירוט",
    trial_balance: "מאזן בוחן",
    debits: "חובה",
    credits: "זכות",
    statement: "דוח",
    statements: "דוחות",
    statement_intro: "כל רישום שמאחורי הנטו של הצד הזה, בשלושה פורמטים. כל קובץ חתום במפתח הרשת על הבתים המדויקים שלו; החתימה מצורפת להורדה (כותרת Statement-Signature) וגם כקובץ נפרד.",
    format: "פורמט",
    format_json: "JSON",
    format_csv: "CSV (שורה לכל רישום)",
    format_camt053: "ISO 20022 camt.053 (XML)",
    download: "הורדה",
    signature: "חתימה",
    signature_intro: "חתימת JWS מנותקת (RFC 7515 נספח F) של הדוח בפורמט JSON, שנוצרה עכשיו. אמתו אותה במפתח הציבורי של הרשת ב-/.well-known/jwks.json.",
    reconciliation: "התאמה",
    reconcile_intro: "העלו את הרישומים של השותף לתקופה כקובץ CSV, שורה לכל תנועה, עם הכותרת הזו; הם מושווים לרישומי הרשת של אותו שותף לפי אסמכתה, סוג ויחידה.",
    period_from: "מ- (RFC 3339)",
    period_to: "עד (RFC 3339)",
    partner_file: "הקובץ של השותף",
    compare: "השוואה",
    report: "דוח התאמה",
    matched: "תואמים",
    mismatched: "סכומים שונים",
    missing_in_network: "רק בקובץ של השותף",
    missing_in_partner: "רק ברישומי הרשת",
    reference: "אסמכתה",
    kind: "סוג",
    partner_says: "סכום אצל השותף",
    network_says: "סכום ברשת",
    reconcile_no_partner: "בחרו אחד מהשותפים ברשימה.",
    reconcile_bad_period: "מ- ועד צריכים להיות זמנים בפורמט RFC 3339, למשל 2026-11-01T00:00:00Z.",
    reconcile_no_file: "בחרו את קובץ ה-CSV של השותף.",
    reconcile_not_utf8: "הקובץ אינו טקסט UTF-8.",
};

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
