//! A refused request, worded for a page: the use case's own detail in English; in Hebrew a
//! sentence per error code (the same stable codes as the API), with the code and the English
//! detail kept beside any code the catalogue does not word.

use super::Lang;
use crate::api::codes::ErrorCode;
use crate::api::problem::ApiError;
use crate::clearing::ClearingError;

/// The Hebrew sentence for the refusals a page can meet.
fn hebrew(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::InsufficientBalance => "אין מספיק נקודות לפעולה הזו.",
        ErrorCode::InvalidAmount => "הסכום אינו תקין: מספר חיובי, בדיוק של היחידה.",
        ErrorCode::UnknownUnit => "היחידה אינה יחידת נקודות של הרשת.",
        ErrorCode::Forbidden => {
            "האפליקציה שפתחה את הארנק אינה רשאית לכך: רק המותג שהנפיק את הנקודות יכול להזיז אותן."
        }
        ErrorCode::NotFound => "לא נמצא: השותף, החבר או המחזור אינם קיימים או אינם מקושרים.",
        ErrorCode::Overpayment => "התשלום גדול מהיתרה הפתוחה בפוזיציה.",
        ErrorCode::InvalidLinkCode => "קוד הקישור שגוי, נוצל או פג תוקפו.",
        ErrorCode::Unavailable => "מסד הנתונים אינו זמין: נסו שוב.",
        _ => return None,
    })
}

/// Why `e` refused the request, in `lang`.
pub fn refusal(lang: Lang, e: &ClearingError) -> String {
    let detail = e.to_string();
    match lang {
        Lang::En => detail,
        Lang::He => {
            let code = ApiError::from(e.clone()).code;
            match hebrew(code) {
                Some(sentence) => sentence.to_owned(),
                None => format!("הבקשה נדחתה ({}): {detail}", code.as_str()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_worded_in_the_pages_language() {
        let e = ClearingError::InvalidLinkCode;
        assert_eq!(refusal(Lang::En, &e), e.to_string());
        assert_eq!(refusal(Lang::He, &e), "קוד הקישור שגוי, נוצל או פג תוקפו.");
        // A code without a Hebrew sentence keeps its code and detail.
        let other = ClearingError::CampaignEnded("c1".into());
        let he = refusal(Lang::He, &other);
        assert!(
            he.contains("campaign_ended") && he.contains(&other.to_string()),
            "{he}"
        );
    }
}
