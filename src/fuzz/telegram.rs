//! The Telegram decoder: raw body → JSON → [`normalise_telegram`] → inbox row,
//! as the `/webhooks/telegram` handler does once the secret has passed.

use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::Value;

use super::mutate::{json_seeds, mutated_bytes, mutated_json};
use crate::ingest::{normalise_telegram, Inbound, Platform};
use crate::pipeline::intake::inbox_rows;

fn decode(body: &[u8]) -> Inbound {
    match serde_json::from_slice::<Value>(body) {
        Ok(update) => normalise_telegram(&update),
        Err(_) => Inbound::Unrecognized {
            raw: Value::String(String::from_utf8_lossy(body).into_owned()),
        },
    }
}

fn check_item(update: Option<&Value>, item: &Inbound) -> TestCaseResult {
    if let Inbound::Event(event) = item {
        prop_assert_eq!(event.platform, Platform::Telegram);
        prop_assert!(!event.external_id.is_empty(), "{event:?}");
        // Only an update with an integer update_id is read at all.
        let update_id = update.and_then(|u| u.get("update_id"));
        prop_assert!(update_id.is_some_and(Value::is_i64), "{update:?}");
        // The event keeps the update it came from, unchanged.
        prop_assert_eq!(Some(&event.raw), update);
    }
    let rows = inbox_rows(std::slice::from_ref(item), "webhook", 1_700_000_000_000);
    prop_assert_eq!(rows.len(), 1);
    super::storable(&rows[0])
}

fn check_value(update: &Value) -> TestCaseResult {
    let item = normalise_telegram(update);
    prop_assert_eq!(&item, &normalise_telegram(update), "not deterministic");
    check_item(Some(update), &item)?;
    // Only in shape: serde_json may read a float back one ulp off.
    let again = decode(update.to_string().as_bytes());
    prop_assert_eq!(
        super::meta::shape(std::slice::from_ref(&again)),
        super::meta::shape(std::slice::from_ref(&item))
    );
    Ok(())
}

fn check_bytes(body: &[u8]) -> TestCaseResult {
    let item = decode(body);
    let value = serde_json::from_slice::<Value>(body).ok();
    check_item(value.as_ref(), &item)
}

#[derive(Debug, Clone)]
enum Input {
    Json(Value),
    Bytes(Vec<u8>),
}

fn inputs() -> impl Strategy<Value = Input> {
    let files = super::fixture_files("telegram");
    prop_oneof![
        3 => mutated_json(json_seeds(&files)).prop_map(Input::Json),
        1 => mutated_bytes(files).prop_map(Input::Bytes),
    ]
}

#[test]
fn fuzz_telegram_decoder() {
    let figures = super::run("telegram_decoder", inputs(), |input| match input {
        Input::Json(value) => check_value(&value),
        Input::Bytes(bytes) => check_bytes(&bytes),
    });
    super::assert_ran("telegram_decoder", figures);
}

#[test]
fn every_fixture_passes_the_checks_unmutated() {
    for file in super::fixture_files("telegram") {
        let value: Value = serde_json::from_slice(&file).expect("fixture is JSON");
        check_value(&value).expect("fixture");
        check_bytes(&file).expect("fixture");
        assert!(decode(&file).event().is_some(), "a known shape");
    }
}
