//! How many spans a span stands for: the adjusted count of OpenTelemetry consistent
//! probability sampling, read from the sampling threshold in the span's W3C `tracestate`
//! (`ot=th:c` means 1 in 4 was kept, so the span counts 4 times). As in the Collector, a span
//! without a valid threshold counts once, and a fractional count is rounded up or down at
//! random so that the expected total is right.

/// 2^56: thresholds are 56-bit numbers.
const MAX_ADJUSTED_COUNT: f64 = 72_057_594_037_927_936.0;

/// The adjusted count of a span with this `tracestate`, or `None` when it carries no valid
/// OpenTelemetry sampling threshold (an invalid tracestate included).
pub fn threshold_weight(tracestate: &str) -> Option<f64> {
    let mut weight = None;
    let mut seen_ot = false;
    for member in tracestate.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !valid_key(key) || !valid_value(value) {
            return None;
        }
        if key == "ot" {
            if seen_ot {
                return None;
            }
            seen_ot = true;
            weight = ot_weight(value)?;
        }
    }
    weight
}

/// W3C list-member key: `lcalpha 0*255(lcalpha / DIGIT / "_" / "-"/ "*" / "/")`, or a
/// multi-tenant `tenant@system` key.
fn valid_key(key: &str) -> bool {
    let ok = |part: &str, max: usize| {
        !part.is_empty()
            && part.len() <= max
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/".contains(&b))
    };
    match key.split_once('@') {
        Some((tenant, system)) => ok(tenant, 241) && ok(system, 14),
        None => ok(key, 256) && key.as_bytes()[0].is_ascii_lowercase(),
    }
}

/// W3C list-member value: 1 to 256 printable ASCII characters except `,` and `=`, not ending
/// in a space.
fn valid_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && !value.ends_with(' ')
        && value
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

/// Reads the `ot` value (`th:c;rv:...`): `Some(Some(weight))` with a threshold,
/// `Some(None)` without one, `None` when malformed.
fn ot_weight(value: &str) -> Option<Option<f64>> {
    let mut weight = None;
    for field in value.split(';') {
        let (key, val) = field.split_once(':')?;
        let key_ok = key.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let val_ok = val
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !key_ok || !val_ok {
            return None;
        }
        let hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        match key {
            "th" => {
                if val.is_empty() || val.len() > 14 || !hex(val) {
                    return None;
                }
                let digits = u64::from_str_radix(val, 16).ok()?;
                let threshold = digits << (4 * (14 - val.len()));
                weight = Some(if threshold == 0 {
                    1.0
                } else {
                    MAX_ADJUSTED_COUNT / (MAX_ADJUSTED_COUNT - threshold as f64)
                });
            }
            "rv" if val.len() != 14 || !hex(val) => return None,
            _ => {}
        }
    }
    Some(weight)
}

/// A small xorshift64* generator for stochastic rounding (seeded from the clock).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (zero is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 12;
        x ^= x >> 25;
        x ^= x << 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Rounds `weight` to a whole count, up with probability equal to its fraction.
pub fn stochastic_count(weight: f64, rng: &mut Rng) -> u64 {
    let floor = weight.floor();
    let fraction = weight - floor;
    let mut count = floor as u64;
    if fraction > 0.0 && rng.next() < (fraction * u64::MAX as f64) as u64 {
        count = count.saturating_add(1);
    }
    count.max(1)
}

/// Remembers the last tracestate read: spans of one trace, which usually arrive together,
/// share it.
#[derive(Debug, Default)]
pub struct WeightCache {
    tracestate: String,
    weight: Option<f64>,
}

impl WeightCache {
    /// The count `tracestate` stands for (1 without a valid threshold).
    pub fn count(&mut self, tracestate: &str, rng: &mut Rng) -> u64 {
        if tracestate.is_empty() {
            return 1;
        }
        if tracestate != self.tracestate {
            self.tracestate.clear();
            self.tracestate.push_str(tracestate);
            self.weight = threshold_weight(tracestate);
        }
        match self.weight {
            None => 1,
            Some(w) => stochastic_count(w, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_give_adjusted_counts() {
        assert_eq!(threshold_weight("ot=th:8"), Some(2.0));
        assert_eq!(threshold_weight("ot=th:c"), Some(4.0));
        assert_eq!(threshold_weight("ot=th:0"), Some(1.0));
        assert_eq!(
            threshold_weight("vendor=x,ot=rv:0123456789abcd;th:e"),
            Some(8.0)
        );
        assert_eq!(threshold_weight(" ot=th:f , other=1"), Some(16.0));
    }

    #[test]
    fn missing_or_invalid_thresholds_count_once() {
        for ts in [
            "",
            "vendor=x",
            "ot=rv:0123456789abcd",
            "ot=th:C",
            "ot=th:123456789abcdef",
            "ot=th:8,ot=th:c",
            "ot=th",
            "Bad=1,ot=th:8",
            "ot=th:8;rv:12",
        ] {
            assert_eq!(threshold_weight(ts), None, "{ts}");
        }
    }

    #[test]
    fn fractions_round_to_neighbours_with_the_right_mean() {
        let mut rng = Rng::new(42);
        let total: u64 = (0..10_000).map(|_| stochastic_count(1.5, &mut rng)).sum();
        assert!((14_000..16_000).contains(&total), "{total}");
        assert_eq!(stochastic_count(4.0, &mut rng), 4);
    }
}
