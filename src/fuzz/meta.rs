//! The Meta webhook decoder: raw body → JSON → [`normalise_meta`] → inbox rows,
//! as the `/webhooks/meta` handler does once the signature has passed.

use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::Value;

use super::mutate::{json_seeds, mutated_bytes, mutated_json};
use crate::ingest::{normalise_meta, EventKind, Inbound, Platform, Verb};
use crate::pipeline::intake::inbox_rows;

/// What the handler stores for a verified body.
pub(crate) fn decode(body: &[u8]) -> Vec<Inbound> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => normalise_meta(&value).items,
        Err(_) => vec![Inbound::Unrecognized {
            raw: Value::String(String::from_utf8_lossy(body).into_owned()),
        }],
    }
}

/// The properties every decoded body keeps, whatever it held.
pub(crate) fn check_items(body: Option<&Value>, items: &[Inbound]) -> TestCaseResult {
    prop_assert!(
        !items.is_empty() || body.is_some_and(has_entries),
        "{items:?}"
    );
    let surface = body.and_then(|b| b.get("object")).and_then(Value::as_str);
    for item in items {
        if let Inbound::Event(event) = item {
            prop_assert!(!event.external_id.is_empty(), "{event:?}");
            // A Page body never yields Instagram events, nor the other way round.
            let allowed: &[Platform] = match surface {
                Some("page") => &[Platform::Facebook, Platform::Messenger],
                Some("instagram") => &[Platform::Instagram, Platform::InstagramDm],
                _ => &[],
            };
            prop_assert!(allowed.contains(&event.platform), "{surface:?}: {event:?}");
        }
    }
    let rows = inbox_rows(items, "webhook", 1_700_000_000_000);
    prop_assert_eq!(rows.len(), items.len());
    for row in &rows {
        // What a Postgres TEXT column refuses never reaches the store.
        super::storable(row)?;
    }
    Ok(())
}

/// Only a body whose `entry` list is present may come back with no items
/// (every entry had empty `changes`/`messaging` lists).
fn has_entries(body: &Value) -> bool {
    body.get("entry").is_some_and(Value::is_array)
}

fn check_value(body: &Value) -> TestCaseResult {
    let items = normalise_meta(body).items;
    prop_assert_eq!(&items, &normalise_meta(body).items, "not deterministic");
    check_items(Some(body), &items)?;
    // The same value as bytes takes the handler's path and ends the same.
    // (Only in shape: serde_json may read a float back one ulp off.)
    let bytes = body.to_string().into_bytes();
    prop_assert_eq!(shape(&decode(&bytes)), shape(&items));
    Ok(())
}

type Shape = Option<(Platform, EventKind, Verb, Option<String>, Option<String>)>;

/// What an item means, leaving out the raw JSON it keeps.
pub(crate) fn shape(items: &[Inbound]) -> Vec<Shape> {
    items
        .iter()
        .map(|item| {
            item.event().map(|e| {
                let who = e.author_id.clone();
                (e.platform, e.kind, e.verb, who, e.text.clone())
            })
        })
        .collect()
}

fn check_bytes(body: &[u8]) -> TestCaseResult {
    let items = decode(body);
    let value = serde_json::from_slice::<Value>(body).ok();
    check_items(value.as_ref(), &items)
}

pub(crate) fn seeds() -> Vec<Vec<u8>> {
    super::fixture_files("meta")
}

#[derive(Debug, Clone)]
enum Input {
    Json(Value),
    Bytes(Vec<u8>),
}

fn inputs() -> impl Strategy<Value = Input> {
    let files = seeds();
    prop_oneof![
        3 => mutated_json(json_seeds(&files)).prop_map(Input::Json),
        1 => mutated_bytes(files).prop_map(Input::Bytes),
    ]
}

#[test]
fn fuzz_meta_decoder() {
    let figures = super::run("meta_decoder", inputs(), |input| match input {
        Input::Json(value) => check_value(&value),
        Input::Bytes(bytes) => check_bytes(&bytes),
    });
    super::assert_ran("meta_decoder", figures);
}

#[test]
fn every_fixture_passes_the_checks_unmutated() {
    for file in seeds() {
        let value: Value = serde_json::from_slice(&file).expect("fixture is JSON");
        check_value(&value).expect("fixture");
        check_bytes(&file).expect("fixture");
        assert!(
            decode(&file).iter().all(|i| i.event().is_some()),
            "every fixture is a known shape"
        );
    }
}
