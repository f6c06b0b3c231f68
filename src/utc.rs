//! The proleptic Gregorian calendar in UTC, for the few places that turn a Unix time into a
//! date or back: the switch log's timestamps, `inspect`'s commit times, TIMESTAMP literals in
//! SQL, pt-heartbeat's `ts` and `replay --stop-datetime`.
//!
//! Owns the two conversions (Howard Hinnant's `days_from_civil` / `civil_from_days`, exact for
//! every date, negative years included) and the one `YYYY-MM-DD HH:MM:SS` formatter; callers
//! add their own separator and fraction. No time zones, no leap seconds, no clock: it must not
//! read the system time.

use std::fmt::Write as _;

/// Days since 1970-01-01 of `y-m-d` (month 1..=12, day 1..=31; not checked against the month).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of the day `days` after 1970-01-01 (negative: before).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Append `YYYY-MM-DD<sep>HH:MM:SS` of the Unix time `secs` (UTC) to `out`: `sep` is `'T'` for
/// RFC 3339, `' '` for a SQL DATETIME literal. The caller appends any fraction and zone.
pub fn push_datetime(out: &mut String, secs: i64, sep: char) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(secs: i64, sep: char) -> String {
        let mut s = String::new();
        push_datetime(&mut s, secs, sep);
        s
    }

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        for days in [-800_000, -719_468, -1, 0, 59, 60, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn formats_with_the_callers_separator() {
        assert_eq!(dt(0, 'T'), "1970-01-01T00:00:00");
        assert_eq!(dt(1_767_323_045, ' '), "2026-01-02 03:04:05");
        assert_eq!(dt(-1, 'T'), "1969-12-31T23:59:59");
        assert_eq!(dt(951_782_400, 'T'), "2000-02-29T00:00:00");
    }
}
