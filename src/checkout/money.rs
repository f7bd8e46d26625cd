//! Prices for people: integer minor units in, `HK$1,234.50` out.

/// Formats minor units with the currency's usual sign. Whole amounts drop the cents.
pub fn format(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let (whole, cents) = (minor / 100, minor % 100);
    let mut digits = whole.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    grouped = format!("{digits}{grouped}");
    let symbol = match currency {
        "HKD" => "HK$",
        "TWD" => "NT$",
        "USD" => "US$",
        "MOP" => "MOP$",
        other => return format!("{sign}{other} {grouped}{}", cents_part(cents)),
    };
    format!("{sign}{symbol}{grouped}{}", cents_part(cents))
}

fn cents_part(cents: u64) -> String {
    if cents == 0 {
        String::new()
    } else {
        format!(".{cents:02}")
    }
}

/// Minor units as a plain decimal for spreadsheets: `123450` → `1234.50`.
pub fn plain(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02}", minor / 100, minor % 100)
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(format(12_000, "HKD"), "HK$120");
        assert_eq!(format(123_450, "HKD"), "HK$1,234.50");
        assert_eq!(format(100_000_000, "TWD"), "NT$1,000,000");
        assert_eq!(format(5, "EUR"), "EUR 0.05");
        assert_eq!(format(-250, "HKD"), "-HK$2.50");
    }
}
