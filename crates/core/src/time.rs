//! Calendar arithmetic and the ISO-8601 forms the Dynatrace APIs use, without a date crate:
//! `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`. Parsing is hot (every cost record),
//! so it works on bytes and allocates nothing.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn parse_date_prefix(b: &[u8]) -> Option<i64> {
    let y = digits(b, 0, 4)?;
    let m = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(i64::from(y), m) {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, d))
}

/// Parses a plain `YYYY-MM-DD` date into a day number.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return None;
    }
    parse_date_prefix(b)
}

/// Parses an ISO-8601 / RFC 3339 timestamp (or a plain date, read as midnight UTC) into
/// milliseconds since the Unix epoch. Fractions beyond milliseconds are truncated.
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let day = parse_date_prefix(b)?;
    if b.len() == 10 {
        return Some(day * MS_PER_DAY);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hh = digits(b, 11, 2)?;
    let mm = digits(b, 14, 2)?;
    if b.get(13) != Some(&b':') || hh > 23 || mm > 59 {
        return None;
    }
    let (ss, mut i) = if b.get(16) == Some(&b':') {
        let ss = digits(b, 17, 2)?;
        if ss > 60 {
            return None;
        }
        (ss, 19)
    } else {
        (0, 16)
    };
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(c - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_min: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b.get(i + 3) == Some(&b':') => {
            let oh = i64::from(digits(b, i + 1, 2)?);
            let om = i64::from(digits(b, i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 60 + om;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss) - offset_min * 60;
    Some(day * MS_PER_DAY + secs * 1000 + millis)
}

/// Parses an HTTP date (RFC 9110 IMF-fixdate, `Wed, 21 Oct 2015 07:28:00 GMT`).
pub fn parse_http_date_ms(s: &str) -> Option<i64> {
    let rest = s.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let hms = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let iso = format!("{year:04}-{month:02}-{day:02}T{hms}Z");
    parse_timestamp_ms(&iso)
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` (the form of JavaScript's `toISOString`).
pub fn format_iso_ms(ms: i64) -> String {
    let day = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(day);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (mi, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// The UTC day number of an epoch-milliseconds instant.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

pub const fn ms_per_day() -> i64 {
    MS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_api_timestamp_forms_parse_to_the_same_instant() {
        let a = parse_timestamp_ms("2024-10-22T00:00:00.000Z");
        let b = parse_timestamp_ms("2024-10-22T00:00:00Z");
        assert_eq!(a, Some(1_729_555_200_000));
        assert_eq!(a, b);
        assert_eq!(parse_timestamp_ms("2024-10-22"), a);
    }

    #[test]
    fn offsets_fractions_and_minutes_only() {
        assert_eq!(
            parse_timestamp_ms("2024-10-22T02:00:00+02:00"),
            parse_timestamp_ms("2024-10-22T00:00:00Z")
        );
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00.123456Z"), Some(123));
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00.1Z"), Some(100));
        assert_eq!(parse_timestamp_ms("1970-01-01T00:01Z"), Some(60_000));
        assert_eq!(parse_timestamp_ms("1969-12-31T23:59:59.999Z"), Some(-1));
    }

    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30",
            "2023-02-29",
            "2024-10-22T25:00:00Z",
            "2024-10-22T00:00:00",
            "2024-10-22T00:00:00.Z",
            "2024-10-22T00:00:00Zjunk",
            "2024/10/22",
            "24-10-22",
            "2024-10-22T00:00:00+0200",
            "２０２４-10-22",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2024-02-29T00:00:00Z").is_none());
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date_ms("Wed, 21 Oct 2015 07:28:00 GMT"),
            parse_timestamp_ms("2015-10-21T07:28:00Z")
        );
        assert_eq!(parse_http_date_ms("Wed, 21 Oct 2015 07:28:00 UTC"), None);
        assert_eq!(parse_http_date_ms("21 Oct 2015"), None);
    }

    #[test]
    fn formats_round_trip() {
        for day in [-800_000, -1, 0, 1, 19_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(format_iso_ms(1_729_555_200_000), "2024-10-22T00:00:00.000Z");
        assert_eq!(format_iso_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_date(parse_date("2000-02-29").unwrap_or_default()),
            "2000-02-29"
        );
    }
}
