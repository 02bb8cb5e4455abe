//! The two date formats of SigV4: `YYYYMMDD` (credential scope) and
//! `YYYYMMDD'T'HHMMSS'Z'` (`X-Amz-Date`), both UTC. No leap seconds, years
//! 1970..=9999.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0')),
    )
}

fn is_leap(y: u64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// `YYYYMMDD` → days since 1970-01-01, if it is a real calendar date.
pub(crate) fn parse_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[4..6])?, digits(&b[6..8])?);
    if y < 1970 || m == 0 || m > 12 || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    // Days before `y`, then before month `m`, then the day itself.
    let leap_days = |year: u64| year / 4 - year / 100 + year / 400;
    let mut days = (y - 1970) * 365 + leap_days(y - 1) - leap_days(1969);
    for month in 1..m {
        days += days_in_month(y, month);
    }
    Some(days + d - 1)
}

/// `YYYYMMDD'T'HHMMSS'Z'` → the instant it names.
pub(crate) fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let days = parse_date(s.get(0..8)?)?;
    let (h, mi, se) = (digits(&b[9..11])?, digits(&b[11..13])?, digits(&b[13..15])?);
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let secs = days * 86_400 + h * 3_600 + mi * 60 + se;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<u64> {
        parse_amz_date(s).and_then(|t| t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs()))
    }

    #[test]
    fn known_instants() {
        assert_eq!(secs("19700101T000000Z"), Some(0));
        assert_eq!(secs("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(secs("20210511T154045Z"), Some(1_620_747_645));
        assert_eq!(secs("20240229T235959Z"), Some(1_709_251_199));
        assert_eq!(secs("20000301T000000Z"), Some(951_868_800));
        assert_eq!(secs("99991231T235959Z"), Some(253_402_300_799));
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "",
            "20150830T123600",
            "20150830t123600Z",
            "20150830T123600z",
            "2015083T1236000Z",
            "20150830 123600Z",
            "20150230T000000Z",
            "20230229T000000Z",
            "21000229T000000Z",
            "20151301T000000Z",
            "20150001T000000Z",
            "20150800T000000Z",
            "20150830T240000Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "19691231T235959Z",
            "+2015830T123600Z",
            "2015-08-30T12:36",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        assert!(parse_date("20000229").is_some());
        assert!(parse_date("2015083").is_none());
        assert!(parse_date("201508301").is_none());
    }
}
