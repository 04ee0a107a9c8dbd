//! Checking one AI value against its GS1 Barcode Syntax Dictionary
//! specification: components (character set N, X = set 82, Y = set 39,
//! Z = base64url; fixed or variable length; optional parts) and linters.
//!
//! Linters checked: `csum`, `gcppos1`, `gcppos2`, the date/time linters
//! (`yymmd0`, `yymmdd`, `yyyymmd0`, `yyyymmdd`, `hh`, `mi`, `ss`, `hhmi`),
//! `yesno`, `zero`, `nonzero`, `winding`, `hyphen`, `nozeroprefix`,
//! `hasnondigit`, `pieceoftotal`. Other linters (code lists such as
//! `iso3166`, `iso4217`, `iban`, `csumalpha`, `couponcode`, …) are not run:
//! the portal only needs them to tell "valid but not ours" from "malformed"
//! for keys it does not serve.

use super::gtin::check_mod10;
use super::serial::is_cset82;

/// Why an AI value is not valid for its AI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiValueError {
    #[error("value is too short")]
    TooShort,
    #[error("value is too long")]
    TooLong,
    #[error("value contains '^', which would be read as FNC1")]
    Caret,
    #[error("character at position {position} is outside the AI's character set")]
    BadCharacter { position: usize },
    #[error("incorrect check digit")]
    CheckDigit,
    #[error("fails the {0} check")]
    Linter(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cset {
    /// Digits.
    N,
    /// GS1 character set 82.
    X,
    /// GS1 character set 39.
    Y,
    /// base64url, character set 64.
    Z,
}

#[derive(Debug, Clone)]
pub(crate) struct Component {
    cset: Cset,
    min: usize,
    max: usize,
    optional: bool,
    linters: Vec<String>,
}

impl Component {
    /// (minimum, maximum) length this component contributes to a value.
    pub(crate) fn length_bounds(&self) -> (usize, usize) {
        (if self.optional { 0 } else { self.min }, self.max)
    }
}

/// `N14,csum`, `X..20`, `[X..17]`, `[N3],iso3166`, `N3..5`.
pub(crate) fn parse_component(token: &str) -> Option<Component> {
    let (optional, spec, linters) = match token.strip_prefix('[') {
        Some(rest) => {
            let (spec, linters) = rest.split_once(']')?;
            (true, spec, linters)
        }
        None => {
            let (spec, linters) = token.split_once(',').unwrap_or((token, ""));
            (false, spec, linters)
        }
    };
    let mut chars = spec.chars();
    let cset = match chars.next()? {
        'N' => Cset::N,
        'X' => Cset::X,
        'Y' => Cset::Y,
        'Z' => Cset::Z,
        _ => return None,
    };
    let len = chars.as_str();
    let (min, max) = match len.split_once("..") {
        Some(("", hi)) => (1, hi.parse().ok()?),
        Some((lo, hi)) => (lo.parse().ok()?, hi.parse().ok()?),
        None => {
            let n = len.parse().ok()?;
            (n, n)
        }
    };
    let linters = linters
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    (min <= max && max > 0).then_some(Component {
        cset,
        min,
        max,
        optional,
        linters,
    })
}

pub(crate) fn check_components(components: &[Component], value: &[u8]) -> Result<(), AiValueError> {
    let mut rest = value;
    let mut offset = 0;
    for comp in components {
        let len = rest.len().min(comp.max);
        if comp.optional && len == 0 {
            continue;
        }
        if len < comp.min {
            return Err(AiValueError::TooShort);
        }
        let (part, tail) = rest.split_at(len);
        check_cset(comp.cset, part, offset)?;
        for linter in &comp.linters {
            run_linter(linter, part)?;
        }
        rest = tail;
        offset += len;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(AiValueError::TooLong)
    }
}

pub(crate) fn check_cset(cset: Cset, part: &[u8], offset: usize) -> Result<(), AiValueError> {
    let ok = |i: usize, b: u8| match cset {
        Cset::N => b.is_ascii_digit(),
        Cset::X => b.is_ascii() && is_cset82(char::from(b)),
        Cset::Y => b.is_ascii_digit() || b.is_ascii_uppercase() || matches!(b, b'#' | b'-' | b'/'),
        Cset::Z => {
            b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_')
                // '=' only as trailing padding
                || (b == b'=' && part[i..].iter().all(|&c| c == b'='))
        }
    };
    match part.iter().enumerate().find(|&(i, &b)| !ok(i, b)) {
        Some((i, _)) => Err(AiValueError::BadCharacter {
            position: offset + i,
        }),
        None => Ok(()),
    }
}

/// Two ASCII digits as a number (caller has checked the N character set).
fn num(part: &[u8]) -> u32 {
    part.iter()
        .fold(0, |acc, b| acc * 10 + u32::from(b.saturating_sub(b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// `year` is full (YYYY); two-digit years resolve within 2000–2099 for the
/// leap-year rule, which is exact for the GS1 window of the current era.
fn valid_date(year: u32, month: u32, day: u32, day_zero_ok: bool) -> bool {
    (1..=12).contains(&month) && day <= days_in_month(year, month) && (day_zero_ok || day >= 1)
}

fn run_linter(name: &str, part: &[u8]) -> Result<(), AiValueError> {
    let fail = || Err(AiValueError::Linter(name.to_owned()));
    let digits = |n: usize| part.len() == n && part.iter().all(u8::is_ascii_digit);
    let ok = match name {
        "csum" => {
            let s = std::str::from_utf8(part).map_err(|_| AiValueError::CheckDigit)?;
            return check_mod10(s).map_err(|_| AiValueError::CheckDigit);
        }
        "gcppos1" => part.len() >= 4 && part[..4].iter().all(u8::is_ascii_digit),
        "gcppos2" => part.len() >= 5 && part[1..5].iter().all(u8::is_ascii_digit),
        "yymmd0" | "yymmdd" => {
            digits(6)
                && valid_date(
                    2000 + num(&part[..2]),
                    num(&part[2..4]),
                    num(&part[4..]),
                    name == "yymmd0",
                )
        }
        "yyyymmd0" | "yyyymmdd" => {
            digits(8)
                && valid_date(
                    num(&part[..4]),
                    num(&part[4..6]),
                    num(&part[6..]),
                    name == "yyyymmd0",
                )
        }
        "hh" => digits(2) && num(part) <= 23,
        "mi" | "ss" => digits(2) && num(part) <= 59,
        "hhmi" => digits(4) && num(&part[..2]) <= 23 && num(&part[2..]) <= 59,
        "yesno" => part == b"0" || part == b"1",
        "zero" => part == b"0",
        "nonzero" => part.iter().any(|&b| b != b'0'),
        "winding" => matches!(part, b"0" | b"1" | b"9"),
        "hyphen" => part.iter().all(|&b| b == b'-'),
        "nozeroprefix" => part.len() == 1 || part.first() != Some(&b'0'),
        "hasnondigit" => part.iter().any(|b| !b.is_ascii_digit()),
        "pieceoftotal" => {
            digits(4) && {
                let (piece, total) = (num(&part[..2]), num(&part[2..]));
                piece >= 1 && total >= 1 && piece <= total
            }
        }
        // Code-list and other linters are not run (see the module docs).
        _ => true,
    };
    if ok { Ok(()) } else { fail() }
}
