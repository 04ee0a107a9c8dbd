//! Verification codes printed on labels (docs/labels.md): the first 13
//! characters (65 bits) of RFC 4648 base32 (upper case, no padding) of
//! `HMAC-SHA-256(K, "v1/{gtin14}/{serial}/{gen}")`, where `K` is a label
//! secret of the key directory and `gen` the unit's label generation
//! (reprinting a label moves it on and voids the old code). Pure: the
//! secret is handed in.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::DeviceKey;

/// Characters of a code.
pub const CODE_LEN: usize = 13;

/// What the HMAC is computed over.
pub fn message(device: &DeviceKey, generation: u32) -> String {
    format!("v1/{}/{}/{generation}", device.gtin(), device.serial())
}

/// The code printed on the unit's label of this generation.
pub fn code(secret: &[u8], device: &DeviceKey, generation: u32) -> String {
    // HMAC takes a key of any length; were it ever refused, the empty code
    // matches nothing.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(message(device, generation).as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut text = data_encoding::BASE32_NOPAD.encode(&tag);
    text.truncate(CODE_LEN);
    text
}

/// Whether `given` is `expected`, letters in any case, in time that does
/// not depend on where they differ.
pub fn matches(expected: &str, given: &str) -> bool {
    if given.len() != CODE_LEN || expected.len() != CODE_LEN {
        return false;
    }
    let given = given.to_ascii_uppercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> DeviceKey {
        DeviceKey::parse(s).unwrap()
    }

    /// The worked examples of docs/labels.md, row by row (computed there
    /// independently, with Python's `hmac` and `base64.b32encode`).
    #[test]
    fn the_documented_worked_examples_hold() {
        let secret: Vec<u8> = (0u8..32).collect();
        let doc = include_str!("../../../docs/labels.md");
        let table = doc.split_once("### Worked examples").expect("section").1;
        let mut rows = 0;
        for line in table.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line
                .split('|')
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .collect();
            let unit: Vec<&str> = cells[0].split(" / ").map(|c| c.trim_matches('`')).collect();
            let device = key(&format!("{}/{}", unit[0], unit[1]));
            let generation: u32 = cells[1].parse().unwrap();
            assert_eq!(message(&device, generation), cells[2].trim_matches('`'));
            assert_eq!(
                code(&secret, &device, generation),
                cells[3].trim_matches('`')
            );
            rows += 1;
        }
        assert_eq!(rows, 3);
        assert_eq!(
            message(&key("4012345000016/P1"), 0),
            "v1/04012345000016/P1/0"
        );
    }

    #[test]
    fn codes_compare_in_any_case_and_nothing_else() {
        let secret = [7u8; 32];
        let c = code(&secret, &key("04012345000016/P1"), 3);
        assert_eq!(c.len(), CODE_LEN);
        assert!(matches(&c, &c));
        assert!(matches(&c, &c.to_ascii_lowercase()));
        assert!(!matches(&c, &c[..12]));
        assert!(!matches(&c, &format!("{c}A")));
        assert!(!matches(&c, &code(&secret, &key("04012345000016/P1"), 4)));
        assert!(!matches(
            &c,
            &code(&[8u8; 32], &key("04012345000016/P1"), 3)
        ));
        assert!(!matches(&c, ""));
    }
}
