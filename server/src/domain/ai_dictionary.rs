//! The GS1 Application Identifier table: the GS1 Barcode Syntax Dictionary
//! embedded with `include_str!` and parsed once (`OnceLock`) into, per AI,
//! its value components, FNC1 need and Digital Link data-attribute flag
//! (`?`), plus every valid Digital Link key-qualifier sequence (`dlpkey=`);
//! and AI lookup with the GS1 Syntax Engine's rules for unknown AIs. Value
//! checks live in `ai_value`. `req=`/`ex=` associations are not checked,
//! like the engine's Digital Link parser.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use super::ai_value::{
    AiValueError, Component, Cset, check_components, check_cset, parse_component,
};

const DICTIONARY_TEXT: &str =
    include_str!("../../../tests/vectors/gs1-digital-link/gs1-syntax-dictionary.txt");

/// The embedded dictionary, parsed on first use.
pub(crate) fn dictionary() -> Result<&'static AiDictionary, DictionaryError> {
    static TABLE: OnceLock<Result<AiDictionary, DictionaryError>> = OnceLock::new();
    TABLE
        .get_or_init(|| AiDictionary::parse(DICTIONARY_TEXT))
        .as_ref()
        .map_err(Clone::clone)
}

/// The embedded dictionary has a line this parser does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GS1 syntax dictionary line {line}: {reason}")]
pub struct DictionaryError {
    line: usize,
    reason: String,
}

/// One AI of the dictionary.
#[derive(Debug, Clone)]
pub(crate) struct AiEntry {
    ai: String,
    fnc1: bool,
    dl_data_attr: bool,
    components: Vec<Component>,
}

/// How an AI may appear in a Digital Link query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataAttr {
    Permitted,
    NotPermitted,
    /// An AI not in the dictionary (only with "permit unknown AIs").
    Unknown,
}

/// A looked-up AI: a dictionary entry, or an unknown AI vivified with the
/// length rules of its two-digit prefix (as the GS1 Syntax Engine does).
#[derive(Debug, Clone, Copy)]
pub(crate) enum AiInfo<'d> {
    Known(&'d AiEntry),
    Unknown { fixed_len: Option<usize> },
}

impl AiInfo<'_> {
    /// The AI as the dictionary spells it (`None` for unknown AIs).
    pub(crate) fn known_ai(&self) -> Option<&str> {
        match self {
            AiInfo::Known(e) => Some(&e.ai),
            AiInfo::Unknown { .. } => None,
        }
    }

    /// Whether an FNC1 separator must follow this AI's value in an element string.
    pub(crate) fn fnc1(&self) -> bool {
        match self {
            AiInfo::Known(e) => e.fnc1,
            AiInfo::Unknown { fixed_len } => fixed_len.is_none(),
        }
    }

    pub(crate) fn data_attr(&self) -> DataAttr {
        match self {
            AiInfo::Known(e) if e.dl_data_attr => DataAttr::Permitted,
            AiInfo::Known(_) => DataAttr::NotPermitted,
            AiInfo::Unknown { .. } => DataAttr::Unknown,
        }
    }

    /// Total length bounds over the mandatory/all components.
    fn length_bounds(&self) -> (usize, usize) {
        match self {
            AiInfo::Known(e) => e.components.iter().fold((0, 0), |(lo, hi), c| {
                let (min, max) = c.length_bounds();
                (lo + min, hi + max)
            }),
            AiInfo::Unknown { fixed_len: Some(n) } => (*n, *n),
            AiInfo::Unknown { fixed_len: None } => (1, 90),
        }
    }

    /// Validates a (percent-decoded) value: length, `^`, then every component.
    pub(crate) fn check_value(&self, value: &[u8]) -> Result<(), AiValueError> {
        let (min, max) = self.length_bounds();
        if value.len() < min {
            return Err(AiValueError::TooShort);
        }
        if value.len() > max {
            return Err(AiValueError::TooLong);
        }
        if value.contains(&b'^') {
            return Err(AiValueError::Caret);
        }
        match self {
            AiInfo::Known(e) => check_components(&e.components, value),
            AiInfo::Unknown { .. } => check_cset(Cset::X, value, 0),
        }
    }
}

/// The parsed dictionary.
#[derive(Debug)]
pub(crate) struct AiDictionary {
    entries: BTreeMap<String, AiEntry>,
    /// AI length shared by all AIs starting with the same two digits (0 = none).
    length_by_prefix: [usize; 100],
    /// Valid Digital Link path AI sequences, AIs joined by one space.
    key_sequences: HashSet<String>,
}

impl AiDictionary {
    fn parse(text: &str) -> Result<Self, DictionaryError> {
        let mut entries = BTreeMap::new();
        let mut key_sequences = HashSet::new();
        for (i, raw) in text.lines().enumerate() {
            let err = |reason: &str| DictionaryError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let line = raw.split('#').next().unwrap_or_default();
            let mut tokens = line.split_whitespace().peekable();
            let Some(ais) = tokens.next() else { continue };
            let (first, last) = parse_ai_range(ais).ok_or_else(|| err("bad AI or AI range"))?;

            let mut fnc1 = true;
            let mut dl_data_attr = false;
            if let Some(flags) = tokens.next_if(|t| is_flags(t)) {
                fnc1 = !flags.contains('*');
                dl_data_attr = flags.contains('?');
            }
            let mut components = Vec::new();
            while let Some(spec) = tokens.next_if(|t| t.starts_with(['N', 'X', 'Y', 'Z', '['])) {
                components.push(parse_component(spec).ok_or_else(|| err("bad component"))?);
            }
            if components.is_empty() {
                return Err(err("no specification"));
            }
            let mut dlpkeys: Vec<Vec<&str>> = Vec::new();
            for attr in tokens {
                if attr == "dlpkey" {
                    dlpkeys.push(Vec::new());
                } else if let Some(alternatives) = attr.strip_prefix("dlpkey=") {
                    dlpkeys.extend(alternatives.split('|').map(|alt| alt.split(',').collect()));
                }
            }
            let width = ais.split('-').next().map_or(0, str::len);
            for n in first..=last {
                let ai = format!("{n:0width$}");
                for qualifiers in &dlpkeys {
                    add_key_sequences(&mut key_sequences, &ai, qualifiers);
                }
                let entry = AiEntry {
                    ai: ai.clone(),
                    fnc1,
                    dl_data_attr,
                    components: components.clone(),
                };
                if entries.insert(ai, entry).is_some() {
                    return Err(err("duplicate AI"));
                }
            }
        }
        let mut length_by_prefix = [0usize; 100];
        for ai in entries.keys() {
            let slot = &mut length_by_prefix[prefix_index(ai)];
            if *slot != 0 && *slot != ai.len() {
                return Err(DictionaryError {
                    line: 0,
                    reason: format!("AIs sharing the prefix of {ai} differ in length"),
                });
            }
            *slot = ai.len();
        }
        Ok(Self {
            entries,
            length_by_prefix,
            key_sequences,
        })
    }

    /// Looks up an AI written exactly as `ai`. Unknown AIs are vivified only
    /// when `permit_unknown` is set and their length suits their prefix.
    pub(crate) fn lookup(&self, ai: &str, permit_unknown: bool) -> Option<AiInfo<'_>> {
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if let Some(entry) = self.entries.get(ai) {
            return Some(AiInfo::Known(entry));
        }
        let prefix = prefix_index(ai);
        let prefix_len = self.length_by_prefix[prefix];
        // A defined prefix length also rules out an AI that would be a prefix
        // of a known one (or have one as its prefix).
        if !permit_unknown || (prefix_len != 0 && prefix_len != ai.len()) {
            return None;
        }
        let fixed = fixed_value_length_by_prefix(prefix);
        let fixed_len = match (prefix_len, fixed) {
            (2, 2 | 14 | 16 | 18) | (3, 13) | (4, 6) => Some(fixed),
            _ => None,
        };
        Some(AiInfo::Unknown { fixed_len })
    }

    /// Whether `seq` (AIs in path order) is a valid Digital Link path.
    pub(crate) fn is_key_sequence(&self, seq: &[&str]) -> bool {
        self.key_sequences.contains(&seq.join(" "))
    }

    pub(crate) fn is_primary_key(&self, ai: &str) -> bool {
        self.key_sequences.contains(ai)
    }
}

fn prefix_index(ai: &str) -> usize {
    ai.bytes()
        .take(2)
        .fold(0, |acc, b| acc * 10 + usize::from(b.saturating_sub(b'0')))
}

/// Value lengths that GS1 pre-defines by AI prefix (General Specifications
/// figure 5.10.1-2), used for unknown AIs only.
fn fixed_value_length_by_prefix(prefix: usize) -> usize {
    match prefix {
        0 => 18,
        1..=3 => 14,
        4 => 16,
        11..=19 | 31..=36 => 6,
        20 => 2,
        41 => 13,
        _ => 0,
    }
}

fn is_flags(token: &str) -> bool {
    !token.starts_with('[')
        && token
            .chars()
            .all(|c| "*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~".contains(c))
}

fn parse_ai_range(token: &str) -> Option<(u32, u32)> {
    let valid = |s: &str| (2..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let (a, b) = token.split_once('-').unwrap_or((token, token));
    if !valid(a) || !valid(b) || a.len() != b.len() {
        return None;
    }
    let (first, last) = (a.parse().ok()?, b.parse().ok()?);
    (first <= last).then_some((first, last))
}

/// Adds `key` plus every order-preserving choice of `qualifiers`.
fn add_key_sequences(out: &mut HashSet<String>, key: &str, qualifiers: &[&str]) {
    let n = qualifiers.len().min(16);
    for mask in 0u32..(1 << n) {
        let mut seq = key.to_owned();
        for (i, q) in qualifiers.iter().take(n).enumerate() {
            if mask & (1 << i) != 0 {
                seq.push(' ');
                seq.push_str(q);
            }
        }
        out.insert(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> &'static AiDictionary {
        dictionary().expect("embedded dictionary parses")
    }

    #[test]
    fn embedded_dictionary_parses() {
        let d = dict();
        // 3100-3105 etc. expand; spot-check sizes and flags.
        assert!(d.entries.len() > 500, "{}", d.entries.len());
        let gtin = d.lookup("01", false).expect("01");
        assert!(!gtin.fnc1());
        assert_eq!(gtin.data_attr(), DataAttr::Permitted);
        let serial = d.lookup("21", false).expect("21");
        assert!(serial.fnc1());
        assert_eq!(serial.data_attr(), DataAttr::NotPermitted);
        assert!(d.lookup("3105", false).is_some());
        assert!(d.lookup("3106", false).is_none());
        assert!(d.lookup("95", false).is_some());
    }

    #[test]
    fn key_sequences_follow_dlpkey() {
        let d = dict();
        for ok in [
            &["01"][..],
            &["01", "22"],
            &["01", "10", "21"],
            &["01", "22", "10", "21"],
            &["01", "235"],
            &["414", "254"],
            &["414", "7040"],
            &["00"],
            &["8018", "8019"],
        ] {
            assert!(d.is_key_sequence(ok), "{ok:?}");
        }
        for bad in [
            &["01", "21", "10"][..],
            &["01", "22", "235"],
            &["00", "10"],
            &["414", "254", "7040"],
            &["10"],
            &["01", "99"],
        ] {
            assert!(!d.is_key_sequence(bad), "{bad:?}");
        }
        assert!(d.is_primary_key("8004"));
        assert!(!d.is_primary_key("21"));
    }

    #[test]
    fn unknown_ai_vivification_follows_the_engine() {
        let d = dict();
        assert!(d.lookup("89", false).is_none());
        assert!(matches!(
            d.lookup("89", true),
            Some(AiInfo::Unknown { fixed_len: None })
        ));
        assert!(d.lookup("011", true).is_none());
        assert!(d.lookup("800", true).is_none());
        assert!(d.lookup("80", true).is_none());
        assert!(d.lookup("399", true).is_none());
        assert!(matches!(
            d.lookup("3999", true),
            Some(AiInfo::Unknown { fixed_len: None })
        ));
        assert!(d.lookup("2367", true).is_none());
        assert!(matches!(
            d.lookup("236", true),
            Some(AiInfo::Unknown { fixed_len: None })
        ));
        assert!(d.lookup("4199", true).is_none());
        assert!(matches!(
            d.lookup("419", true),
            Some(AiInfo::Unknown {
                fixed_len: Some(13)
            })
        ));
        assert!(d.lookup("1", true).is_none());
        assert!(d.lookup("12345", true).is_none());
        assert!(d.lookup("1a", true).is_none());
    }

    #[test]
    fn value_checks() {
        let d = dict();
        let check = |ai: &str, v: &str| {
            d.lookup(ai, false)
                .expect("known")
                .check_value(v.as_bytes())
        };
        assert_eq!(check("01", "09520123456788"), Ok(()));
        assert_eq!(check("01", "09520123456789"), Err(AiValueError::CheckDigit));
        assert_eq!(check("01", "0952012345678"), Err(AiValueError::TooShort));
        assert_eq!(
            check("10", "ABC 123"),
            Err(AiValueError::BadCharacter { position: 3 })
        );
        assert_eq!(check("10", "A^B"), Err(AiValueError::Caret));
        assert_eq!(check("17", "201231"), Ok(()));
        assert_eq!(check("17", "201200"), Ok(()));
        assert!(check("17", "201232").is_err());
        assert!(check("17", "241301").is_err());
        assert_eq!(check("17", "240229"), Ok(()));
        assert!(check("17", "230229").is_err());
        assert_eq!(check("4321", "1"), Ok(()));
        assert!(check("4321", "2").is_err());
        assert_eq!(check("253", "1231231231232TEST5678901234567"), Ok(()));
        assert_eq!(
            check("253", "1231231231232TEST56789012345678"),
            Err(AiValueError::TooLong)
        );
        assert_eq!(check("8006", "123123123123330102"), Ok(()));
        assert!(check("8006", "123123123123330302").is_err());
        assert_eq!(check("8030", "ab-_=="), Ok(()));
        assert!(check("8030", "a=b").is_err());
    }

    #[test]
    fn malformed_dictionary_lines_are_errors() {
        assert!(AiDictionary::parse("01 *? Q14").is_err());
        assert!(AiDictionary::parse("0x *? N14").is_err());
        assert!(AiDictionary::parse("01 *?").is_err());
        assert!(AiDictionary::parse("01 N14\n01 N14").is_err());
        assert!(AiDictionary::parse("# only a comment\n\n").is_ok());
    }
}
