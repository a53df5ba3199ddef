//! Durations written as Go's `time.ParseDuration` reads them (`2ms`, `1.5s`, `1h30m`, `100us`),
//! the syntax of every duration in a Collector config. A bare integer (YAML `buckets: [100]`) is
//! a number of nanoseconds, as Go's config decoder reads it into a `time.Duration`.

/// Nanoseconds per unit suffix Go accepts.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration string into nanoseconds (negative when it starts with `-`).
pub fn parse(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_number) = match after_int.strip_prefix('.') {
            Some(r) => {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                r.split_at(n)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_number.len());
        let (unit, next) = after_number.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let per_unit = unit_nanos(unit).ok_or_else(|| {
            format!("unknown unit {unit:?} in duration {text:?} (use ns, us, ms, s, m or h)")
        })?;
        let overflow = || format!("duration {text:?} is too long");
        // More than 30 digits cannot fit in an i64 count of nanoseconds anyway.
        if int_part.len() > 30 {
            return Err(overflow());
        }
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        // Go keeps the fraction's precision down to the nanosecond; 18 digits are plenty.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        let fraction: u128 = if frac_digits.is_empty() {
            0
        } else {
            let digits: u128 = frac_digits.parse().map_err(|_| invalid())?;
            digits * per_unit / 10u128.pow(frac_digits.len() as u32)
        };
        total = whole
            .checked_mul(per_unit)
            .and_then(|w| w.checked_add(fraction))
            .and_then(|w| w.checked_add(total))
            .ok_or_else(overflow)?;
        if total > i64::MAX as u128 + u128::from(negative) {
            return Err(overflow());
        }
        rest = next;
    }
    if negative {
        // `total` is at most 2^63 here, so the negation fits.
        Ok((total as i128).wrapping_neg() as i64)
    } else {
        Ok(total as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("2ms"), Ok(2_000_000));
        assert_eq!(parse("1s"), Ok(1_000_000_000));
        assert_eq!(parse("1400ms"), Ok(1_400_000_000));
        assert_eq!(parse("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse(".5s"), Ok(500_000_000));
        assert_eq!(parse("100us"), Ok(100_000));
        assert_eq!(parse("100µs"), Ok(100_000));
        assert_eq!(parse("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse("-1m"), Ok(-60_000_000_000));
        assert_eq!(parse("+3ns"), Ok(3));
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert!(parse("").is_err());
        assert!(parse("-").is_err());
        assert!(parse("15").unwrap_err().contains("missing unit"));
        assert!(parse("3 s").is_err());
        assert!(parse("3sec").unwrap_err().contains("unknown unit"));
        assert!(parse("1.s.").is_err());
        assert!(
            parse("9999999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
    }
}
