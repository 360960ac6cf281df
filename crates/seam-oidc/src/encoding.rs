//! The encodings the protocol speaks: URL-safe base64 (JWTs, JWKs, PKCE), percent-encoding
//! (query strings and form bodies), and the rule for which URLs may be endpoints.

use base64::Engine as _;

/// URL-safe base64 without padding.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict URL-safe base64: no padding, no other alphabet, no stray trailing bits, so that one
/// value has one spelling.
pub(crate) fn from_base64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

pub(crate) fn base64_standard(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Percent-encodes everything but RFC 3986's unreserved characters: safe in a query string,
/// in a form body, and inside HTTP Basic credentials (RFC 6749, section 2.3.1).
pub(crate) fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            for nibble in [byte >> 4, byte & 0x0f] {
                if let Some(&digit) = HEX.get(usize::from(nibble)) {
                    out.push(char::from(digit));
                }
            }
        }
    }
    out
}

/// `name=value&…` pairs (a query string or form body), `+` as space, `%XX` decoded.
pub(crate) fn form_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(name)?, form_decode(value)?))
        })
        .collect()
}

fn form_decode(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(byte) = rest.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = rest.next().and_then(hex_value);
                let low = rest.next().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => bytes.push(high << 4 | low),
                    _ => return Err("a `%` not followed by two hex digits".into()),
                }
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 once decoded".into())
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// The longest endpoint or redirect URL accepted.
pub(crate) const MAX_URL_BYTES: usize = 2048;

/// An endpoint, issuer or redirect URL: `https://host…`, or `http://` on a loopback host only
/// (a provider running on the same machine, and tests). No user info (`user@host` hides the
/// real host from a reader), no fragment, no spaces or control characters.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL_BYTES {
        return Err(format!("longer than {MAX_URL_BYTES} bytes"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it holds spaces or control characters".into());
    }
    if url.contains('#') {
        return Err("it has a fragment (`#`)".into());
    }
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("not an https:// URL".into());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("it has user information (`user@host`)".into());
    }
    let host = host_of(authority);
    if host.is_empty() {
        return Err("it has no host".into());
    }
    if !secure && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err("plain http:// is allowed on a loopback host only: use https://".into());
    }
    Ok(())
}

/// The host of `host[:port]`, IPv6 literals in brackets.
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => authority.get(..=end).unwrap_or_default(),
            None => "",
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(from_base64url("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(from_base64url("-_8="), None);
        assert_eq!(from_base64url("+/8"), None);
        // `-_9` decodes to the same bytes with a stray bit set: refused.
        assert_eq!(from_base64url("-_9"), None);
    }

    #[test]
    fn percent_encoding_round_trips_through_form_decoding() {
        let text = "a b&c=d/é~_.-+%";
        let encoded = percent_encode(text);
        assert_eq!(encoded, "a%20b%26c%3Dd%2F%C3%A9~_.-%2B%25");
        let pairs = form_pairs(&format!("x={encoded}&y=1+2&&z")).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("x".to_string(), text.to_string()),
                ("y".to_string(), "1 2".to_string()),
                ("z".to_string(), String::new()),
            ]
        );
        assert!(form_pairs("x=%zz").is_err());
        assert!(form_pairs("x=%").is_err());
        assert!(form_pairs("x=%ff").is_err());
    }

    #[test]
    fn endpoint_urls() {
        for good in [
            "https://idp.example.com",
            "https://idp.example.com/realms/seam/protocol/openid-connect/auth?x=1",
            "https://idp.example.com:8443/",
            "http://127.0.0.1:5556/dex",
            "http://localhost/",
            "http://[::1]:8080/x",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://idp.example.com/",
            "http://127.0.0.1.evil.example/",
            "http://localhost@evil.example/",
            "https://user@idp.example.com/",
            "https://idp.example.com/#x",
            "https://idp.example.com/a b",
            "https://",
            "ftp://idp.example.com/",
            "idp.example.com",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://a.example/{}", "x".repeat(MAX_URL_BYTES))).is_err());
    }
}
