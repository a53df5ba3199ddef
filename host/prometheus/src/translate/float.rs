//! Number formatting as the Go code Prometheus users compare against.
//!
//! - [`sample`]: client_golang's `expfmt` (`writeFloat`): `+Inf`, `-Inf`, `NaN`, otherwise Go's
//!   `strconv.FormatFloat(f, 'g', -1, 64)`: shortest digits, exponent form below 1e-4 and from
//!   1e6 on (`1.234567e+06`, `0.005`, `1e-05`). Used for values and for `le`/`quantile` in the
//!   text format.
//! - [`decimal`]: `strconv.FormatFloat(f, 'f', -1, 64)`, the remote-write translator's `le` and
//!   `quantile` labels: `0.005`, `1000000`.
//! - [`attribute`]: pdata's `Value.AsString` for doubles (ES6 number to string).

/// Shortest round-trip digits and the decimal exponent of a finite, non-zero `v` (`d.ddd × 10^exp`).
fn digits(v: f64) -> (String, i32) {
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// `d.ddde±XX` with at least two exponent digits, as Go's `%e`.
fn exponent_form(negative: bool, digits: &str, exp: i32, min_exp_digits: usize) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let magnitude = exp.unsigned_abs().to_string();
    for _ in magnitude.len()..min_exp_digits {
        out.push('0');
    }
    out.push_str(&magnitude);
    out
}

/// A sample value or `le`/`quantile` in the text format.
pub fn sample(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let (digits, exp) = digits(v);
    if !(-4..6).contains(&exp) {
        return exponent_form(v < 0.0, &digits, exp, 2);
    }
    // Rust's Display is the shortest round-trip decimal, the same digits as Go's 'f', -1.
    format!("{v}")
}

/// `le`/`quantile` in remote write: plain decimal, `+Inf` for infinity.
pub fn decimal(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

/// A double attribute as a label value: decimal between 1e-6 and 1e21, exponent form outside
/// (`1e-7`, `1e+21`).
pub fn attribute(v: f64) -> String {
    if !v.is_finite() {
        // pdata writes "json: unsupported value: NaN"; a plain word is more useful.
        return sample(v);
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, exp) = digits(v);
        return exponent_form(v < 0.0, &digits, exp, 1);
    }
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}
