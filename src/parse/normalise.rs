//! Brings every spelling of a comment to one form before scanning, so the
//! scanner only knows half-width ASCII, lower case and Traditional characters.

use unicode_normalization::UnicodeNormalization;

/// Writes the normalised form of `text` into `out` (cleared first).
///
/// NFKC folds full-width forms (`Ａ０１＋１` → `A01+1`); ASCII is lower-cased
/// so codes and word keywords compare case-insensitively; a few look-alike
/// signs and the Simplified forms of the characters the lexicon knows are
/// mapped, because Mandarin buyers write `两个` where the lexicon has `兩個`.
pub fn normalise_into(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    if text.is_ascii() {
        for b in text.bytes() {
            out.push(fold_ascii(b as char));
        }
        return;
    }
    for c in text.nfkc() {
        if c == '🔟' {
            // The keycap ten: two digits, not one character.
            out.push_str("10");
        } else if let Some(m) = fold(c) {
            out.push(m);
        }
    }
}

/// Convenience for tests and catalogue building.
pub fn normalise(text: &str) -> String {
    let mut s = String::new();
    normalise_into(text, &mut s);
    s
}

fn fold_ascii(c: char) -> char {
    match c {
        '\r' => '\n',
        '\t' => ' ',
        _ => c.to_ascii_lowercase(),
    }
}

/// `None` drops the character: joiners and selectors only glue emoji.
fn fold(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(fold_ascii(c));
    }
    let m = match c {
        // The keycap mark after a digit (`2️⃣`) leaves the digit.
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{FE0E}'
        | '\u{FE0F}' | '\u{20E3}' => return None,
        '\u{00A0}' | '\u{3000}' => ' ',
        '\u{2028}' | '\u{2029}' | '\u{0085}' => '\n',
        '➕' => '+',
        '➖' | '−' | '‐' | '‑' | '‒' | '–' | '—' | '﹣' => '-',
        '✖' | '✕' | '╳' => '×',
        '，' => ',',
        '､' => '、',
        // Simplified → Traditional, only for characters the lexicon uses.
        '两' => '兩',
        '个' => '個',
        '对' => '對',
        '条' => '條',
        '码' => '碼',
        '钱' => '錢',
        '还' => '還',
        '吗' => '嗎',
        '没' => '沒',
        '货' => '貨',
        '红' => '紅',
        '蓝' => '藍',
        '绿' => '綠',
        '黄' => '黃',
        '银' => '銀',
        '买' => '買',
        '单' => '單',
        '几' => '幾',
        '删' => '刪',
        '双' => '雙',
        '组' => '組',
        '张' => '張',
        '价' => '價',
        '颜' => '顏',
        '订' => '訂',
        '换' => '換',
        '为' => '為',
        '谢' => '謝',
        '该' => '該',
        '啰' => '囉',
        '么' => '麼',
        '无' => '無',
        '卖' => '賣',
        '话' => '話',
        '电' => '電',
        '机' => '機',
        '贰' => '貳',
        '叁' => '參',
        '陆' => '陸',
        '号' => '號',
        '长' => '長',
        '询' => '詢',
        '问' => '問',
        '请' => '請',
        '减' => '減',
        '给' => '給',
        '这' => '這',
        '弃' => '棄',
        '细' => '細',
        '现' => '現',
        '顶' => '頂',
        '块' => '塊',
        '颗' => '顆',
        '盖' => '蓋',
        '环' => '環',
        '壳' => '殼',
        '军' => '軍',
        '浅' => '淺',
        '宝' => '寶',
        '杂' => '雜',
        _ => c,
    };
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn full_width_folds_to_ascii_lower_case() {
        assert_eq!(normalise("Ａ０１＋１"), "a01+1");
        assert_eq!(normalise("Ｅ２１＊２"), "e21*2");
        assert_eq!(normalise("ＳＯＡＰ　ｘ５"), "soap x5");
        assert_eq!(normalise("A01？"), "a01?");
    }

    #[test]
    fn look_alike_signs_map_to_ascii() {
        assert_eq!(normalise("➕1"), "+1");
        assert_eq!(normalise("A01−1"), "a01-1");
        assert_eq!(normalise("D50，杯"), "d50,杯");
        assert_eq!(normalise("A01×2"), "a01×2");
    }

    #[test]
    fn joiners_and_selectors_are_dropped() {
        assert_eq!(normalise("🙋\u{200D}♀\u{FE0F}+1"), "🙋♀+1");
    }

    #[test]
    fn keycap_digits_are_digits() {
        assert_eq!(normalise("A01 +2️⃣"), "a01 +2");
        assert_eq!(normalise("➕1️⃣"), "+1");
        assert_eq!(normalise("+🔟"), "+10");
        assert_eq!(normalise("✖️2"), "×2");
        assert_eq!(normalise("K08＝2"), "k08=2");
        assert_eq!(normalise("K08：3"), "k08:3");
        assert_eq!(normalise("减1 给我"), "減1 給我");
    }

    #[test]
    fn simplified_maps_to_traditional() {
        assert_eq!(normalise("两个"), "兩個");
        assert_eq!(normalise("红色 M码"), "紅色 m碼");
        assert_eq!(normalise("多少钱"), "多少錢");
    }

    #[test]
    fn line_breaks_and_tabs() {
        assert_eq!(normalise("A\r\nB\tC"), "a\n\nb c");
    }

    #[test]
    fn traditional_and_cjk_pass_through() {
        assert_eq!(normalise("茶壺 三隻"), "茶壺 三隻");
    }
}
