//! The store's contract, checked on whichever backend the suite runs on.

use plusone::roles::Role;
use plusone::store::{BackendKind, FirstOwner, SetupState, StoreError, TokenRole};

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

    let host = store
        .insert_token("board", TokenRole::Host, "hash-3")
        .await
        .unwrap();
    assert_eq!(host.role, TokenRole::Host);
    assert!(store.revoke_token(host.id, 5).await.unwrap());
    assert!(!store.revoke_token(host.id, 6).await.unwrap(), "once");
    assert!(store.find_token_by_hash("hash-3").await.unwrap().is_none());
    let listed = store.list_tokens().await.unwrap();
    assert_eq!(listed[1].revoked_at_ms, Some(5));
}

#[tokio::test]
async fn only_one_first_owner_is_ever_made() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let now = chrono::Utc::now().timestamp_millis();
    store
        .insert_setup_token("setup-1", now, now + 60_000)
        .await
        .unwrap();
    assert_eq!(
        store.setup_state("setup-1", now).await.unwrap(),
        SetupState::Open
    );
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_first_owner("setup-1", &format!("owner{i}"), "hash", now)
                    .await
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            FirstOwner::Created(user) => {
                assert_eq!(user.role, Role::Owner);
                made += 1;
            }
            FirstOwner::AlreadySetUp => {}
            FirstOwner::UnknownLink => panic!("the link was valid"),
        }
    }
    assert_eq!(made, 1);
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(
        store.setup_state("setup-1", now).await.unwrap(),
        SetupState::Done
    );
}

#[tokio::test]
async fn setup_links_expire_and_unknown_ones_make_nobody() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let now = chrono::Utc::now().timestamp_millis();
    store
        .insert_setup_token("old", now - 120_000, now - 60_000)
        .await
        .unwrap();
    assert_eq!(
        store.setup_state("old", now).await.unwrap(),
        SetupState::Unknown
    );
    let made = store
        .create_first_owner("old", "ada", "hash", now)
        .await
        .unwrap();
    assert_eq!(made, FirstOwner::UnknownLink);
    assert_eq!(store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn sessions_end_on_timeouts_disabling_and_password_changes() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let now = chrono::Utc::now().timestamp_millis();
    let idle = 60_000;
    let ada = store
        .insert_user("ada", "hash", Role::Staff, now)
        .await
        .unwrap();
    let dup = store.insert_user("ada", "other", Role::Host, now).await;
    assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
    for (id, expires) in [
        ("s1", now + 3_600_000),
        ("s2", now + 3_600_000),
        ("s3", now + 10),
    ] {
        store
            .insert_session(id, ada.id, "csrf", now, expires, idle)
            .await
            .unwrap();
    }
    let found = store.session("s1", now, idle).await.unwrap().unwrap();
    assert_eq!(found.user, ada);
    assert_eq!(found.csrf_token, "csrf");
    // Past the absolute timeout, or unused for longer than the idle one: gone.
    assert!(store.session("s3", now + 10, idle).await.unwrap().is_none());
    assert!(store
        .session("s1", now + idle, idle)
        .await
        .unwrap()
        .is_none());
    store.touch_session("s1", now + idle / 2).await.unwrap();
    assert!(store
        .session("s1", now + idle, idle)
        .await
        .unwrap()
        .is_some());

    // A role change applies to a live session at once.
    assert!(store.set_user_role(ada.id, Role::Host).await.unwrap());
    let found = store.session("s1", now, idle).await.unwrap().unwrap();
    assert_eq!(found.user.role, Role::Host);

    // A new password ends every other session.
    assert!(store.set_password(ada.id, "new", Some("s1")).await.unwrap());
    assert!(store.session("s1", now, idle).await.unwrap().is_some());
    assert!(store.session("s2", now, idle).await.unwrap().is_none());
    let (_, hash) = store.user_for_login("ada").await.unwrap().unwrap();
    assert_eq!(hash, "new");

    // Disabling ends the rest.
    assert!(store.disable_user(ada.id, now).await.unwrap());
    assert!(!store.disable_user(ada.id, now).await.unwrap());
    assert_eq!(store.count_sessions(ada.id).await.unwrap(), 0);
    assert!(store.user(ada.id).await.unwrap().unwrap().disabled);
    assert!(store.enable_user(ada.id).await.unwrap());
    assert!(!store.user(ada.id).await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn a_refused_write_logs_no_values_of_the_row() {
    let db = TestDatabase::new();
    let store = db.store().await;
    let product = plusone::store::NewProduct {
        code: "CODE-91234567".into(),
        name: "a dress".into(),
        price: 100,
        currency: "HKD".into(),
        skus: vec![plusone::store::NewSku {
            sku: "SKU-91234567".into(),
            options: Vec::new(),
            on_hand: 1,
        }],
        sandbox: false,
        aliases: Vec::new(),
    };
    store.create_product(&product).await.unwrap();
    let err = store.create_product(&product).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    // What a log line prints with `?err`: the constraint, never the row's values (a
    // Postgres DETAIL line would quote them).
    let logged = format!("{err:?}");
    assert!(logged.starts_with("Conflict: "), "{logged}");
    assert!(!logged.contains("91234567"), "{logged}");
}
