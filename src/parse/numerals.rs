//! Quantities as buyers write them: ASCII digits (maybe with a fraction, which
//! is never a valid qty but must be seen as one) and Chinese numerals.

/// A number as written, before limits are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Amount {
    /// Saturates instead of overflowing: any huge value is simply over limit.
    Whole(u64),
    /// `1.5`: kept apart so review can say "bad qty" rather than rounding.
    Fraction,
}

/// Reads ASCII digits at the start of `s`, with an optional `.digits` tail.
/// Returns the bytes consumed, the amount and the count of integer digits.
pub fn scan_ascii(s: &str) -> Option<(usize, Amount, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(u64::from(b[i] - b'0'));
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let digits = i;
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        let mut j = i + 1;
        let mut nonzero = false;
        while j < b.len() && b[j].is_ascii_digit() {
            nonzero |= b[j] != b'0';
            j += 1;
        }
        // `2.0` is still two.
        let amount = if nonzero {
            Amount::Fraction
        } else {
            Amount::Whole(v)
        };
        return Some((j, amount, digits));
    }
    Some((i, Amount::Whole(v), digits))
}

fn digit_value(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' => 1,
        '二' | '兩' | '貳' => 2,
        '三' | '參' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

fn unit_value(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        _ => return None,
    })
}

pub fn is_numeral(c: char) -> bool {
    c == '廿' || digit_value(c).is_some() || unit_value(c).is_some()
}

/// Value of a whole run of Chinese numerals (`兩`, `十二`, `廿一`, `一百零五`).
/// `None` for runs that are not one number (`一二`, `十十`): those are words
/// such as `一一` or lists, not quantities.
pub fn parse_chinese(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut pending: Option<u64> = None;
    let mut last_unit = u64::MAX;
    let mut any = false;
    for c in s.chars() {
        any = true;
        if c == '廿' {
            if pending.is_some() || total != 0 {
                return None;
            }
            total = 20;
            last_unit = 10;
        } else if let Some(d) = digit_value(c) {
            if pending.is_some_and(|p| p != 0) {
                return None;
            }
            pending = Some(d);
        } else if let Some(u) = unit_value(c) {
            if u >= last_unit {
                return None;
            }
            let k = match pending.take() {
                Some(0) => return None,
                Some(d) => d,
                None if total == 0 => 1,
                None => return None,
            };
            total += k * u;
            last_unit = u;
        } else {
            return None;
        }
    }
    if !any {
        return None;
    }
    Some(total + pending.unwrap_or(0))
}

/// Reads the longest run of Chinese numerals at the start of `s`; returns its
/// byte length and value (value `None` when the run is not one number).
pub fn scan_chinese(s: &str) -> Option<(usize, Option<u64>)> {
    let len: usize = s
        .chars()
        .take_while(|&c| is_numeral(c))
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    Some((len, parse_chinese(&s[..len])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_small_numbers() {
        for (s, v) in [
            ("一", 1),
            ("兩", 2),
            ("二", 2),
            ("三", 3),
            ("五", 5),
            ("十", 10),
            ("十一", 11),
            ("二十", 20),
            ("廿", 20),
            ("廿一", 21),
            ("九十九", 99),
            ("一百", 100),
            ("百", 100),
            ("一百零五", 105),
            ("兩百", 200),
            ("零", 0),
            ("壹", 1),
            ("拾", 10),
        ] {
            assert_eq!(parse_chinese(s), Some(v), "{s}");
        }
    }

    #[test]
    fn chinese_non_numbers() {
        for s in ["", "一二", "十十", "百十百", "廿廿", "三廿", "零十", "x"] {
            assert_eq!(parse_chinese(s), None, "{s}");
        }
    }

    #[test]
    fn scan_chinese_stops_at_other_text() {
        assert_eq!(scan_chinese("三件"), Some((3, Some(3))));
        assert_eq!(scan_chinese("十二個"), Some((6, Some(12))));
        assert_eq!(scan_chinese("件"), None);
    }

    #[test]
    fn ascii_numbers() {
        assert_eq!(scan_ascii("12件"), Some((2, Amount::Whole(12), 2)));
        assert_eq!(scan_ascii("1.5"), Some((3, Amount::Fraction, 1)));
        assert_eq!(scan_ascii("2.0 "), Some((3, Amount::Whole(2), 1)));
        assert_eq!(scan_ascii("3."), Some((1, Amount::Whole(3), 1)));
        assert_eq!(scan_ascii("x"), None);
        assert_eq!(
            scan_ascii("99999999999999999999999999"),
            Some((26, Amount::Whole(u64::MAX), 26))
        );
    }
}
