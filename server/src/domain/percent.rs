//! Percent-encoding for Digital Link path values and percent-decoding of
//! path and query components (RFC 3986 `%XX`; `+` is a space in queries).

use std::fmt;

/// Displays the wrapped text percent-encoded: everything but `A-Za-z0-9-._~` as `%XX`.
pub(crate) struct PercentEncoded<'a>(pub(crate) &'a str);

impl fmt::Display for PercentEncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                write!(f, "{}", char::from(b))?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        Ok(())
    }
}

/// `%XX` decoding (a `%` not followed by two hex digits stays as is); `+` is
/// a space in query components. Returns `None` on a decoded NUL.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match escaped {
            Some(0) => return None,
            Some(v) => {
                out.push(u8::try_from(v).ok()?);
                i += 3;
            }
            None => {
                out.push(if plus_is_space && b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    Some(out)
}

pub(crate) fn decode_lossy(s: &str) -> String {
    // A NUL or bad UTF-8 in a non-AI parameter is not ours to judge; keep
    // the raw text so the caller can still compare it.
    percent_decode(s, true)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_edges() {
        assert_eq!(percent_decode("a%2", false), Some(b"a%2".to_vec()));
        assert_eq!(percent_decode("%zz%41", false), Some(b"%zzA".to_vec()));
        assert_eq!(percent_decode("a+b", false), Some(b"a+b".to_vec()));
        assert_eq!(percent_decode("a+b", true), Some(b"a b".to_vec()));
        assert_eq!(percent_decode("%00", true), None);
        assert_eq!(percent_decode("%C3%A9", true), Some(vec![0xC3, 0xA9]));
    }

    #[test]
    fn encoding_keeps_only_unreserved() {
        assert_eq!(PercentEncoded("aZ09-._~").to_string(), "aZ09-._~");
        assert_eq!(
            PercentEncoded("a/b c+%é").to_string(),
            "a%2Fb%20c%2B%25%C3%A9"
        );
        assert_eq!(decode_lossy("gs1%3Apip+x"), "gs1:pip x");
        assert_eq!(decode_lossy("bad%00"), "bad%00");
        assert_eq!(decode_lossy("%FF"), "%FF");
    }
}
