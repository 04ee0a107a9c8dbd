//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of every
//! JSON value the ledger hashes. Object members sorted by their UTF-16 code
//! units, no whitespace, strings escaped minimally, numbers written as
//! ECMAScript `Number.prototype.toString` writes an IEEE 754 double.
//!
//! Integers above 2^53 lose precision here, as JCS requires (they become
//! doubles): callers carry such values as strings.

use std::fmt::Write as _;

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// NaN and the infinities have no JSON form (serde_json cannot hold them,
    /// but [`format_number`] can be called with any f64).
    #[error("number {0} has no JSON form")]
    NonFiniteNumber(String),
    #[error("JSON text does not parse: {0}")]
    Parse(String),
}

/// The canonical UTF-8 bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out.into_bytes())
}

/// The canonical bytes of the two-element array `[name, value]` (what a
/// commitment hashes), without building that array.
pub fn canonicalize_pair(name: &str, value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::from("[");
    write_string(&mut out, name);
    out.push(',');
    write_value(&mut out, value)?;
    out.push(']');
    Ok(out.into_bytes())
}

/// Parses JSON text and returns its canonical bytes. Duplicate member names
/// keep the last value (serde_json's behaviour); I-JSON input has none.
pub fn canonicalize_str(text: &str) -> Result<Vec<u8>, JcsError> {
    let value: Value = serde_json::from_str(text).map_err(|e| JcsError::Parse(e.to_string()))?;
    canonicalize(&value)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            // Every JSON number is an IEEE 754 double to JCS, integers included.
            let f = n
                .as_f64()
                .ok_or_else(|| JcsError::NonFiniteNumber(n.to_string()))?;
            out.push_str(&format_number(f)?);
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// RFC 8785 §3.2.2.2: escape `"`, `\`, and the controls below U+0020 (with
/// the two-character forms where JSON has them); everything else verbatim.
fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Copy runs that need no escaping whole; only `"`, `\\` and control
    // characters (all ASCII, so never inside a multi-byte sequence) break
    // a run.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x09 => "\\t",
            0x0A => "\\n",
            0x0C => "\\f",
            0x0D => "\\r",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// ECMAScript `Number::toString(x)` (ECMA-262 §6.1.6.1.20) for a double, as
/// RFC 8785 §3.2.2.3 requires: the shortest digits that round-trip, then a
/// plain or exponent layout chosen by the decimal exponent.
pub fn format_number(x: f64) -> Result<String, JcsError> {
    if !x.is_finite() {
        return Err(JcsError::NonFiniteNumber(x.to_string()));
    }
    if x == 0.0 {
        return Ok("0".to_owned()); // also -0
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let sci = shortest_closest(x.abs());
    let (mantissa, exp) = sci
        .split_once('e')
        .ok_or_else(|| JcsError::NonFiniteNumber(sci.clone()))?;
    let exp: i32 = exp
        .parse()
        .map_err(|_| JcsError::NonFiniteNumber(sci.clone()))?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let k = i32::try_from(digits.len()).map_err(|_| JcsError::NonFiniteNumber(sci.clone()))?;
    let n = exp + 1; // x = 0.digits × 10^n
    let mut s = String::from(sign);
    if k <= n && n <= 21 {
        s.push_str(digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        s.push_str(int);
        s.push('.');
        s.push_str(frac);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(digits);
    } else {
        let (first, rest) = digits.split_at(1);
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        let e = n - 1;
        let _ = write!(s, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    Ok(s)
}

/// `x` (finite, positive) in Rust's `d.ddde±n` form with the fewest digits
/// that read back as `x`; among those, the closest to `x`, ties to even
/// digit. Rust's `{:e}` gives the fewest digits but breaks exact ties upward
/// (1424953923781206.25 → …206.3); its fixed-precision `{:.*e}` rounds the
/// exact value half to even, so it is used whenever that still reads back.
fn shortest_closest(x: f64) -> String {
    let shortest = format!("{x:e}");
    let digits = shortest
        .split_once('e')
        .map_or(1, |(m, _)| m.chars().filter(char::is_ascii_digit).count());
    let even = format!("{:.*e}", digits.saturating_sub(1), x);
    if even.parse::<f64>() == Ok(x) {
        even
    } else {
        shortest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::hash::{Hash, parse_hex};

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/jcs-rfc8785/cyberphone-json-canonicalization/testdata"
    );

    #[test]
    fn cyberphone_input_output_pairs() {
        for name in [
            "arrays",
            "french",
            "structures",
            "unicode",
            "values",
            "weird",
        ] {
            let input = std::fs::read_to_string(format!("{DIR}/input/{name}.json")).unwrap();
            let output = std::fs::read(format!("{DIR}/output/{name}.json")).unwrap();
            let outhex = std::fs::read_to_string(format!("{DIR}/outhex/{name}.txt")).unwrap();
            let hex_bytes = parse_hex(&outhex.split_whitespace().collect::<String>()).unwrap();
            let got = canonicalize_str(&input).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&output),
                "{name}"
            );
            assert_eq!(got, hex_bytes, "{name} (outhex)");
        }
    }

    #[test]
    fn es6_numbers_first_10000_lines() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/jcs-rfc8785/es6-numbers-first-10000-lines.txt"
        );
        let bytes = std::fs::read(path).unwrap();
        // The checksum the cyberphone README publishes for 10,000 lines.
        assert_eq!(
            Hash::sha256(&bytes).to_hex(),
            "b9f7a8e75ef22a835685a52ccba7f7d6bdc99e34b010992cbc5864cd12be6892"
        );
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = 0;
        for line in text.lines() {
            let (hex_bits, expected) = line.split_once(',').unwrap();
            let bits = u64::from_str_radix(hex_bits, 16).unwrap();
            let x = f64::from_bits(bits);
            assert_eq!(format_number(x).unwrap(), expected, "bits {hex_bits}");
            lines += 1;
        }
        assert_eq!(lines, 10_000);
    }

    #[test]
    fn rfc8785_number_table() {
        // RFC 8785 Appendix B.
        for (bits, want) in [
            (0x0000000000000000u64, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ] {
            assert_eq!(format_number(f64::from_bits(bits)).unwrap(), want);
        }
        assert!(format_number(f64::NAN).is_err());
        assert!(format_number(f64::INFINITY).is_err());
    }

    #[test]
    fn large_integers_become_doubles_and_keys_sort_by_utf16() {
        let v: Value = serde_json::from_str(
            r#"{"b":18446744073709551615,"\uff21":1,"\ud83d\ude00":2,"a":[1.0,-0.0]}"#,
        )
        .unwrap();
        // U+1F600 (surrogates D83D DE00) sorts before U+FF21 in UTF-16 order,
        // although its UTF-8 bytes sort after.
        assert_eq!(
            String::from_utf8(canonicalize(&v).unwrap()).unwrap(),
            "{\"a\":[1,0],\"b\":18446744073709552000,\"\u{1F600}\":2,\"\u{ff21}\":1}"
        );
    }

    #[test]
    fn controls_are_escaped() {
        let v = Value::String("\u{0}\u{1f}\"\\\u{7f}\u{2028}".to_owned());
        assert_eq!(
            String::from_utf8(canonicalize(&v).unwrap()).unwrap(),
            "\"\\u0000\\u001f\\\"\\\\\u{7f}\u{2028}\""
        );
    }
}
