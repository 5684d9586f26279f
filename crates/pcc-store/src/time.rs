//! UTC timestamps in the storage format of the original tool: `YYYY-MM-DD HH:MM:SS`.
//!
//! Always UTC, to the second. Parsing also accepts the ISO-8601 form with `T` and an optional
//! fractional part and `Z`, which the TypeScript tool wrote into `file_claims.expires_at`.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Timestamp(secs)
    }

    pub fn secs(self) -> i64 {
        self.0
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs))
    }

    /// Parse `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS[.fff][Z]` or `YYYY-MM-DD`, always as UTC.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i64 = t.get(0..4)?.parse().ok()?;
        let month: u32 = t.get(5..7)?.parse().ok()?;
        let day: u32 = t.get(8..10)?.parse().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let (mut h, mut m, mut s) = (0i64, 0i64, 0i64);
        if b.len() > 10 {
            if !(b[10] == b' ' || b[10] == b'T') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
                return None;
            }
            h = t.get(11..13)?.parse().ok()?;
            m = t.get(14..16)?.parse().ok()?;
            s = t.get(17..19)?.parse().ok()?;
            if h > 23 || m > 59 || s > 60 {
                return None;
            }
            let rest = t.get(19..)?;
            let rest = rest.strip_suffix('Z').unwrap_or(rest);
            if let Some(frac) = rest.strip_prefix('.') {
                if frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
            } else if !rest.is_empty() {
                return None;
            }
        }
        let days = days_from_civil(year, month, day);
        Some(Timestamp(days * 86_400 + h * 3600 + m * 60 + s))
    }

    /// The civil UTC date and time: (year, month, day, hour, minute, second).
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        // rem is in 0..86400, so these narrowings cannot truncate.
        let rem = rem as u32;
        (y, mo, d, rem / 3600, (rem % 3600) / 60, rem % 60)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.civil();
        write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for secs in [0, 1, 951_782_400, 1_700_000_000, 4_102_444_799, 1_709_164_800] {
            let t = Timestamp(secs);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t), "{t}");
        }
        assert_eq!(Timestamp(0).to_string(), "1970-01-01 00:00:00");
        assert_eq!(Timestamp(1_709_164_800).to_string(), "2024-02-29 00:00:00");
    }

    #[test]
    fn parses_the_iso_form_written_by_the_typescript_tool_as_utc() {
        let a = Timestamp::parse("2025-01-02T03:04:05.678Z");
        let b = Timestamp::parse("2025-01-02 03:04:05");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(Timestamp::parse("2025-01-02").map(|t| t.to_string()).as_deref(), Some("2025-01-02 00:00:00"));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2025",
            "2025-13-01 00:00:00",
            "2025-02-30 00:00:00",
            "2025-01-01 24:00:00",
            "2025-01-01x00:00:00",
            "2025-01-01 00:00:00junk",
            "abcd-ef-gh",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
