//! The `changes-since` token of a listing, taken from the cloud's clock.
//!
//! Synnefo lists what changed with `updated >= changes-since`, so the next listing must start
//! no later than the moment the cloud read this one. The connector's own clock may be skewed
//! against the cloud's, so the token comes from the answer's `Date` (RFC 7231 IMF-fixdate,
//! whole seconds, truncated): the cloud stamped it after reading the listing, and at most the
//! round trip after, so `Date − round trip (whole seconds, rounded up)` is no later than the
//! read. [`OVERLAP_S`] more covers changes stamped by Synnefo's other machines (the dispatcher
//! records a VM's new state) with a slightly slow clock, or committed just after the read.
//! Starting early only repeats changes, and applying a change twice is harmless.
//!
//! The token is ISO 8601 in UTC with `Z` (`2026-11-29T11:59:58Z`): Synnefo's `isoparse` reads
//! it with `dateutil` as a time with a zone (on Python 2 a naive time is refused), and unlike
//! `+00:00` it survives a query string as it is (Django reads `+` as a space).
//!
//! The calendar arithmetic is written here: `httpdate` and `humantime` do the same in two
//! calls, but cost the component ~10 KB, more than its 400 KiB budget has left.

use std::time::Duration;

/// Seconds the token starts before the listing, beyond the round trip.
pub const OVERLAP_S: u64 = 1;

const MONTHS: &str = "JanFebMarAprMayJunJulAugSepOctNovDec";

/// The token for a listing whose answer carried `date` after `round_trip`; `None` when `date`
/// is not an IMF-fixdate (the obsolete forms included: HTTP/1.1 servers must not send them).
pub fn as_of(date: &str, round_trip: Duration) -> Option<String> {
    let back = OVERLAP_S + round_trip.as_secs() + u64::from(round_trip.subsec_nanos() > 0);
    let t = http_date(date)?.checked_sub(back)?;
    let (days, s) = (t / 86_400, t % 86_400);
    let (y, m, d) = civil(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    ))
}

/// Seconds since 1970 of `Sun, 29 Nov 2026 12:00:00 GMT`.
fn http_date(s: &str) -> Option<u64> {
    let mut f = s.split_ascii_whitespace();
    let (_weekday, day, month, year, time) =
        (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    if f.next()? != "GMT" || f.next().is_some() || month.len() != 3 {
        return None;
    }
    let m = MONTHS.find(month).filter(|i| i % 3 == 0)? as u64 / 3 + 1;
    let d: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let y: u64 = year.parse().ok().filter(|y| *y >= 1970)?;
    let mut hms = time.split(':').map(|n| n.parse::<u64>().ok());
    let (h, mi, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(days(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Days since 1970-01-01 of a date from 1970 on (H. Hinnant's `days_from_civil`: years start
/// in March, so the leap day ends one).
fn days(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let (era, yoe) = (y / 400, y % 400);
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (`civil_from_days`, the inverse of [`days`]).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (era * 400 + yoe + u64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "Sun, 29 Nov 2026 12:00:00 GMT";

    #[test]
    fn the_token_is_the_date_less_the_overlap_and_the_round_trip() {
        assert_eq!(as_of(NOW, Duration::ZERO).unwrap(), "2026-11-29T11:59:59Z");
        // A part of a second counts as a whole one.
        let fast = Duration::from_millis(3);
        assert_eq!(as_of(NOW, fast).unwrap(), "2026-11-29T11:59:58Z");
        let slow = Duration::from_millis(2500);
        assert_eq!(as_of(NOW, slow).unwrap(), "2026-11-29T11:59:56Z");
    }

    #[test]
    fn going_back_crosses_days_months_and_years() {
        let z = Duration::ZERO;
        assert_eq!(
            as_of("Thu, 01 Jan 2026 00:00:00 GMT", z).unwrap(),
            "2025-12-31T23:59:59Z"
        );
        assert_eq!(
            as_of("Wed, 01 Mar 2028 00:00:00 GMT", z).unwrap(),
            "2028-02-29T23:59:59Z",
            "2028 is a leap year"
        );
        assert_eq!(
            as_of("Mon, 01 Mar 2100 00:00:00 GMT", z).unwrap(),
            "2100-02-28T23:59:59Z",
            "2100 is not"
        );
        assert_eq!(
            as_of("Thu, 01 Jan 1970 00:00:10 GMT", z).unwrap(),
            "1970-01-01T00:00:09Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_goes_there_and_back() {
        for d in 0..146_097 * 2 {
            let (y, m, day) = civil(d);
            assert_eq!(days(y, m, day), d, "{y}-{m}-{day}");
        }
    }

    #[test]
    fn only_an_imf_fixdate_gives_a_token() {
        for bad in [
            "",
            "garbage",
            "Sunday, 29-Nov-26 12:00:00 GMT",
            "Sun Nov 29 12:00:00 2026",
            "Sun, 29 Nov 2026 12:00:00 +0000",
            "Sun, 29 Nov 2026 12:00 GMT",
            "Sun, 29 Xyz 2026 12:00:00 GMT",
            "Sun, 29 anF 2026 12:00:00 GMT",
            "Sun, 32 Nov 2026 12:00:00 GMT",
            "Sun, 29 Nov 2026 24:00:00 GMT",
            "Sun, 29 Nov 1969 12:00:00 GMT",
            "Sun, 29 Nov 2026 12:00:00 GMT extra",
        ] {
            assert_eq!(as_of(bad, Duration::ZERO), None, "{bad:?}");
        }
    }
}
