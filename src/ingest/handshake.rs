//! Meta's subscription handshake: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`.

use super::signature::same_secret;

/// The body to answer the handshake with (the challenge, echoed), or `None`
/// when the request is not a subscribe with our verify token (answer 403).
pub fn meta_handshake_reply<'a>(
    expected_token: &str,
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&'a str>,
) -> Option<&'a str> {
    if mode != Some("subscribe") || expected_token.is_empty() {
        return None;
    }
    if !same_secret(expected_token.as_bytes(), verify_token?.as_bytes()) {
        return None;
    }
    challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscribe_with_our_token_gets_the_challenge_back() {
        let reply = meta_handshake_reply("tok", Some("subscribe"), Some("tok"), Some("1158201444"));
        assert_eq!(reply, Some("1158201444"));
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(
            meta_handshake_reply("tok", Some("subscribe"), Some("tik"), Some("c")),
            None
        );
        assert_eq!(
            meta_handshake_reply("tok", Some("unsubscribe"), Some("tok"), Some("c")),
            None
        );
        assert_eq!(
            meta_handshake_reply("tok", None, Some("tok"), Some("c")),
            None
        );
        assert_eq!(
            meta_handshake_reply("tok", Some("subscribe"), None, Some("c")),
            None
        );
        assert_eq!(
            meta_handshake_reply("tok", Some("subscribe"), Some("tok"), None),
            None
        );
        assert_eq!(
            meta_handshake_reply("", Some("subscribe"), Some(""), Some("c")),
            None
        );
    }
}
