//! The signature checks: no body is accepted unless its `X-Hub-Signature-256`
//! was made with the app secret over exactly those bytes, and no Telegram update
//! unless it carries exactly the configured secret token. A body that does pass
//! goes on through the decoder, which must not panic on it.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseResult;
use serde_json::Value;

use super::mutate::mutated_bytes;
use crate::ingest::{sign_meta_body, verify_meta_signature, verify_telegram_secret};

const SECRET: &[u8] = b"fuzz-app-secret-0123456789";

/// How the header presented with a body was made.
#[derive(Debug, Clone)]
enum Header {
    Missing,
    /// Any text at all.
    Free(String),
    /// The right signature for the body.
    Valid,
    /// The right signature, in upper-case hex or padded with spaces.
    ValidRespelled {
        upper: bool,
        pad: bool,
    },
    /// The right signature with one hex digit changed.
    OneDigitOff(Index, u8),
    /// The right signature cut short or run on.
    Resized(Index, String),
    /// A signature made with another secret.
    OtherSecret(Vec<u8>),
    /// A signature over other bytes (the body before a mutation, say).
    OtherBody(Vec<u8>),
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        1 => Just(Header::Missing),
        2 => prop_oneof![
            ".{0,80}",
            "sha256=[0-9a-fA-F]{0,70}",
            "(sha1|SHA256|sha256|sha256 |)=?[0-9a-f]{64}",
        ]
        .prop_map(Header::Free),
        2 => Just(Header::Valid),
        1 => (any::<bool>(), any::<bool>())
            .prop_map(|(upper, pad)| Header::ValidRespelled { upper, pad }),
        2 => (any::<Index>(), 0u8..16).prop_map(|(i, d)| Header::OneDigitOff(i, d)),
        1 => (any::<Index>(), "[0-9a-f]{0,4}").prop_map(|(i, s)| Header::Resized(i, s)),
        2 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Header::OtherSecret),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Header::OtherBody),
    ]
}

fn present(header: &Header, body: &[u8]) -> Option<String> {
    let valid = sign_meta_body(SECRET, body);
    let hex_start = "sha256=".len();
    Some(match header {
        Header::Missing => return None,
        Header::Free(text) => text.clone(),
        Header::Valid => valid,
        Header::ValidRespelled { upper, pad } => {
            let mut text = valid.clone();
            if *upper {
                text = format!("sha256={}", valid[hex_start..].to_uppercase());
            }
            if *pad {
                text = format!("  {text} ");
            }
            text
        }
        Header::OneDigitOff(i, digit) => {
            let mut hex: Vec<u8> = valid[hex_start..].bytes().collect();
            let n = i.index(hex.len());
            hex[n] = b"0123456789abcdef"[usize::from(*digit)];
            format!("sha256={}", String::from_utf8_lossy(&hex))
        }
        Header::Resized(i, tail) => {
            let cut = hex_start + i.index(valid.len() - hex_start + 1);
            format!("{}{tail}", &valid[..cut])
        }
        Header::OtherSecret(secret) => sign_meta_body(secret, body),
        Header::OtherBody(other) => sign_meta_body(SECRET, other),
    })
}

/// The one header the check may accept, whatever it is shown: the body's
/// signature under our secret (hex in either case, outer whitespace aside).
fn is_the_signature(given: &str, body: &[u8]) -> bool {
    given
        .trim()
        .eq_ignore_ascii_case(&sign_meta_body(SECRET, body))
}

fn check_meta(body: &[u8], header: &Header) -> TestCaseResult {
    let given = present(header, body);
    let verdict = verify_meta_signature(SECRET, body, given.as_deref());
    let genuine = given.as_deref().is_some_and(|g| is_the_signature(g, body));
    prop_assert_eq!(
        verdict.is_ok(),
        genuine,
        "header {:?} for a {}-byte body: {:?}",
        given,
        body.len(),
        verdict
    );
    if verdict.is_ok() {
        // Past the check, the body goes to the decoder as is.
        let items = super::meta::decode(body);
        let value = serde_json::from_slice::<Value>(body).ok();
        super::meta::check_items(value.as_ref(), &items)?;
    }
    Ok(())
}

#[test]
fn fuzz_meta_signature() {
    let inputs = (mutated_bytes(super::meta::seeds()), header());
    let figures = super::run("meta_signature", inputs, |(body, header)| {
        check_meta(&body, &header)
    });
    super::assert_ran("meta_signature", figures);
}

/// A body signed and then changed in any way is refused, however small the change.
#[test]
fn fuzz_meta_signature_after_tampering() {
    let seeds = super::meta::seeds();
    let inputs = (prop::sample::select(seeds.clone()), mutated_bytes(seeds));
    let figures = super::run("meta_signature_tampered", inputs, |(signed, sent)| {
        let header = sign_meta_body(SECRET, &signed);
        let verdict = verify_meta_signature(SECRET, &sent, Some(&header));
        prop_assert_eq!(verdict.is_ok(), signed == sent, "{:?}", verdict);
        Ok(())
    });
    super::assert_ran("meta_signature_tampered", figures);
}

#[test]
fn fuzz_telegram_secret() {
    let expected = prop_oneof![Just(String::new()), ".{0,40}", "[A-Za-z0-9_-]{1,256}"];
    let given = prop_oneof![
        Just(Given::Missing),
        Just(Given::Same),
        ".{0,40}".prop_map(Given::Free),
        (any::<Index>(), any::<char>()).prop_map(|(i, c)| Given::OneCharOff(i, c)),
        any::<Index>().prop_map(Given::Prefix),
        ".{1,3}".prop_map(Given::Longer),
    ];
    let figures = super::run("telegram_secret", (expected, given), |(expected, given)| {
        let presented = given.present(&expected);
        let accepted = verify_telegram_secret(&expected, presented.as_deref());
        let genuine = !expected.is_empty() && presented.as_deref() == Some(expected.as_str());
        prop_assert_eq!(accepted, genuine, "{:?} for {:?}", presented, expected);
        Ok(())
    });
    super::assert_ran("telegram_secret", figures);
}

#[derive(Debug, Clone)]
enum Given {
    Missing,
    Same,
    Free(String),
    OneCharOff(Index, char),
    Prefix(Index),
    Longer(String),
}

impl Given {
    fn present(&self, expected: &str) -> Option<String> {
        let chars: Vec<char> = expected.chars().collect();
        Some(match self {
            Given::Missing => return None,
            Given::Same => expected.to_owned(),
            Given::Free(text) => text.clone(),
            Given::OneCharOff(i, c) => {
                let mut chars = chars;
                if !chars.is_empty() {
                    let n = i.index(chars.len());
                    chars[n] = *c;
                }
                chars.into_iter().collect()
            }
            Given::Prefix(i) => chars[..i.index(chars.len() + 1)].iter().collect(),
            Given::Longer(tail) => format!("{expected}{tail}"),
        })
    }
}
