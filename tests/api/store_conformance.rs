//! The store's contract, checked on whichever backend the suite runs on.

use plusone::store::{BackendKind, StoreError, TokenRole};

use crate::helpers::TestDatabase;

#[tokio::test]
async fn the_backend_follows_the_url_scheme() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let expected = if db.is_postgres() {
        BackendKind::Postgres
    } else {
        BackendKind::Sqlite
    };
    assert_eq!(store.kind(), expected);
    assert!(store.is_ready().await.unwrap());
}

#[tokio::test]
async fn migrating_twice_is_harmless() {
    let db = TestDatabase::new();
    let store = db.store().await;
    store.migrate().await.unwrap();
    assert!(store.is_ready().await.unwrap());
}

#[tokio::test]
async fn a_fresh_database_is_not_ready_until_migrated() {
    let db = TestDatabase::new();
    let store = plusone::store::Store::connect(&db.url, 2).await.unwrap();
    assert!(!store.is_ready().await.unwrap());
    store.migrate().await.unwrap();
    assert!(store.is_ready().await.unwrap());
}

#[tokio::test]
async fn tokens_round_trip_and_duplicates_conflict() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let made = store
        .insert_token("pos", TokenRole::Staff, "hash-1")
        .await
        .unwrap();
    assert_eq!(made.role, TokenRole::Staff);
    let found = store.find_token_by_hash("hash-1").await.unwrap().unwrap();
    assert_eq!(found.id, made.id);
    assert!(store.find_token_by_hash("hash-2").await.unwrap().is_none());
    let dup = store
        .insert_token("again", TokenRole::Owner, "hash-1")
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    assert_eq!(store.list_tokens().await.unwrap().len(), 1);
}

#[tokio::test]
async fn only_one_first_owner_token_is_ever_made() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_first_token("owner", &format!("h{i}")).await })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            made += 1;
        }
    }
    assert_eq!(made, 1);
    assert_eq!(store.count_tokens().await.unwrap(), 1);
}
