//! Numbers, amounts and times as a page's reader expects them: digits grouped by thousands,
//! times to the minute with their zone. English and Hebrew both write `1,234.50` (Hebrew's
//! CLDR number symbols are the same) and differ in the date: `30 Nov 2026` / `30.11.2026`.

use super::i18n::Lang;

/// A decimal number as text (`-12345.50`), its whole part grouped by thousands (`-12,345.50`).
/// Anything else (a unit after a space, say) is kept as it is.
pub fn grouped(number: &str) -> String {
    let (head, rest) = number.split_once(' ').map_or((number, ""), |(h, r)| (h, r));
    let (sign, digits) = head.strip_prefix('-').map_or(("", head), |d| ("-", d));
    let (whole, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(w, f)| (w, Some(f)));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return number.to_owned();
    }
    let mut out = String::with_capacity(number.len() + whole.len() / 3);
    out.push_str(sign);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(rest);
    }
    out
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A time (microseconds since the epoch) to the minute, in UTC, as the language writes dates.
pub fn when(at_us: i64, lang: Lang) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(at_us.div_euclid(1_000_000)) else {
        return String::new();
    };
    let (d, m, y, hh, mm) = (t.day(), u8::from(t.month()), t.year(), t.hour(), t.minute());
    match lang {
        Lang::En => {
            let month = MONTHS_EN[usize::from(m.saturating_sub(1)) % 12];
            format!("{d} {month} {y}, {hh:02}:{mm:02} UTC")
        }
        Lang::He => format!("{d}.{m}.{y}, {hh:02}:{mm:02} UTC"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_and_nothing_else_changes() {
        assert_eq!(grouped("1234567.50"), "1,234,567.50");
        assert_eq!(grouped("-1234.5"), "-1,234.5");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("1000"), "1,000");
        assert_eq!(grouped("0.04"), "0.04");
        assert_eq!(grouped("12000 AROMA"), "12,000 AROMA");
        assert_eq!(grouped(""), "");
        assert_eq!(grouped("n/a"), "n/a");
    }

    #[test]
    fn times_are_written_as_each_language_writes_dates() {
        // 2026-11-30T12:17:57Z
        let at_us = 1_796_041_077_000_000;
        assert_eq!(when(at_us, Lang::En), "30 Nov 2026, 12:17 UTC");
        assert_eq!(when(at_us, Lang::He), "30.11.2026, 12:17 UTC");
    }
}

/// The templates' filters: `{{ amount|grouped }}`.
pub mod filters {
    /// [`super::grouped`] as a template filter.
    #[askama::filter_fn]
    pub fn grouped(
        value: impl std::fmt::Display,
        _: &dyn askama::Values,
    ) -> askama::Result<String> {
        Ok(super::grouped(&value.to_string()))
    }
}
