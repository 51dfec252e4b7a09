//! Percent-encoding of URL query values, both ways: the resume cursor's epoch and the
//! region token go out encoded, the page's own `?token=` comes in encoded.
//!
//! Pure, and beneath both its users ([`crate::socket::frames`], [`crate::token`]), so
//! neither reaches into the other for it.

/// Percent-encode `s` for a query value (unreserved characters kept).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-decode (and `+` as space, as forms encode it); a stray `%` stays as it is.
pub fn decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%' && i + 2 < b.len())
            .then(|| Some(hex(b[i + 1])? * 16 + hex(b[i + 2])?))
            .flatten();
        match (escaped, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, c) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn a_value_goes_out_encoded_and_comes_back_as_it_was() {
        assert_eq!(encode("a b/c~d"), "a%20b%2Fc~d");
        assert_eq!(decode("a%20b%2Fc~d"), "a b/c~d");
        assert_eq!(decode("s+e"), "s e", "a form's space");
        assert_eq!(decode("50%"), "50%", "a stray % stays");
    }
}
