//! The languages plusone speaks and how it writes money, shared by every page and reply so
//! that a buyer reads the same amount the same way in a DM and on the checkout page. A
//! leaf: it uses nothing in the crate.

/// The languages pages and replies are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Cantonese, Hong Kong: the default.
    ZhHk,
    /// Traditional Chinese with Taiwan wording.
    ZhTw,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::ZhHk, Lang::ZhTw, Lang::En];

    /// One of our own tags, exactly as config, the template API and stored texts write it:
    /// `zh-HK`, `zh-TW` or `en`.
    pub fn parse(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.tag() == tag)
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhHk => "zh-HK",
            Lang::ZhTw => "zh-TW",
            Lang::En => "en",
        }
    }

    /// The language a browser's tag asks for, read loosely: any case, `_` or `-`,
    /// `en-GB`, `yue`, `zh-MO` (Hong Kong wording), `zh-Hant` (Taiwan wording).
    pub fn recognise(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let parts: Vec<&str> = tag.split(['-', '_']).collect();
        let has = |subtags: &[&str]| parts[1..].iter().any(|p| subtags.contains(p));
        match parts[0] {
            "en" => Some(Lang::En),
            "yue" => Some(Lang::ZhHk),
            "zh" if has(&["hk", "mo"]) => Some(Lang::ZhHk),
            "zh" if has(&["tw", "hant"]) => Some(Lang::ZhTw),
            _ => None,
        }
    }

    /// The best language an `Accept-Language` header asks for (by q-value, then order),
    /// else `default`. A bare `zh` counts as the shop's own Chinese when the shop's default
    /// is Chinese.
    pub fn negotiate(header: Option<&str>, default: Lang) -> Lang {
        let Some(header) = header else {
            return default;
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut pieces = item.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let lang = match Lang::recognise(tag) {
                Some(lang) => lang,
                None if tag.eq_ignore_ascii_case("zh") && default != Lang::En => default,
                None => continue,
            };
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(default, |(_, lang)| lang)
    }
}

/// Money in minor units as buyers read it: `HK$1,299`, `HK$1,234.50`, `NT$300`, `¥500`.
/// Thousands are grouped; whole amounts drop the cents.
pub fn format_money(minor: i64, currency: &str) -> String {
    let (symbol, decimals) = match currency {
        "HKD" => ("HK$".to_string(), 2),
        "TWD" => ("NT$".to_string(), 2),
        "USD" => ("US$".to_string(), 2),
        "MOP" => ("MOP$".to_string(), 2),
        "CNY" => ("¥".to_string(), 2),
        // The yen has no minor unit: its minor units are yen.
        "JPY" => ("¥".to_string(), 0),
        other => (format!("{other} "), 2),
    };
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let scale = 10u64.pow(decimals);
    let (whole, fraction) = (minor / scale, minor % scale);
    let whole = group_thousands(whole);
    if fraction == 0 {
        format!("{sign}{symbol}{whole}")
    } else {
        format!(
            "{sign}{symbol}{whole}.{fraction:0width$}",
            width = decimals as usize
        )
    }
}

/// Minor units as a plain decimal for spreadsheets: `123450` → `1234.50`.
pub fn plain_amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02}", minor / 100, minor % 100)
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(format_money(12_000, "HKD"), "HK$120");
        assert_eq!(format_money(12_050, "HKD"), "HK$120.50");
        assert_eq!(format_money(5, "HKD"), "HK$0.05");
        assert_eq!(format_money(129_900, "HKD"), "HK$1,299");
        assert_eq!(format_money(123_450, "HKD"), "HK$1,234.50");
        assert_eq!(format_money(100_000_000, "TWD"), "NT$1,000,000");
        assert_eq!(format_money(30_000, "TWD"), "NT$300");
        assert_eq!(format_money(123_456, "JPY"), "¥123,456");
        assert_eq!(format_money(5, "EUR"), "EUR 0.05");
        assert_eq!(format_money(199, "EUR"), "EUR 1.99");
        assert_eq!(format_money(-250, "HKD"), "-HK$2.50");
        assert_eq!(format_money(-100_000, "HKD"), "-HK$1,000");
        assert_eq!(plain_amount(123_450), "1234.50");
        assert_eq!(plain_amount(-5), "-0.05");
    }

    #[test]
    fn our_own_tags_parse_exactly_and_browsers_tags_loosely() {
        for lang in Lang::ALL {
            assert_eq!(Lang::parse(lang.tag()), Some(lang));
            assert_eq!(Lang::recognise(lang.tag()), Some(lang));
        }
        assert_eq!(Lang::parse("zh-hk"), None);
        assert_eq!(Lang::parse("en-US"), None);
        assert_eq!(Lang::recognise("zh-hk"), Some(Lang::ZhHk));
        assert_eq!(Lang::recognise("zh_Hant_TW"), Some(Lang::ZhTw));
        assert_eq!(Lang::recognise("yue"), Some(Lang::ZhHk));
        assert_eq!(Lang::recognise("fr"), None);
    }

    #[test]
    fn the_best_supported_language_wins() {
        let hk = Lang::ZhHk;
        assert_eq!(Lang::negotiate(None, hk), hk);
        assert_eq!(Lang::negotiate(Some("en-US,en;q=0.9"), hk), Lang::En);
        assert_eq!(
            Lang::negotiate(Some("zh-TW,zh;q=0.9,en;q=0.8"), hk),
            Lang::ZhTw
        );
        assert_eq!(
            Lang::negotiate(Some("fr;q=1, zh-HK;q=0.5, en;q=0.4"), Lang::En),
            hk
        );
        assert_eq!(Lang::negotiate(Some("zh-Hant-TW"), hk), Lang::ZhTw);
        assert_eq!(Lang::negotiate(Some("fr, de"), Lang::ZhTw), Lang::ZhTw);
        assert_eq!(Lang::negotiate(Some("zh"), Lang::ZhTw), Lang::ZhTw);
        assert_eq!(Lang::negotiate(Some("en;q=0"), hk), hk);
    }
}
