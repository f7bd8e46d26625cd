//! Issue 14 §2: every operation of the OpenAPI document, called with an owner, a staff and
//! a host token, answers 403 exactly where the role table (`plusone::roles`) says no.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use plusone::roles::{api_area, api_operations, Role};

async fn token_with_role(app: &TestApp, role: &str) -> String {
    let made: Value = app
        .post("/api/v1/tokens")
        .json(&json!({"name": format!("walk-{role}"), "role": role}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(made["role"], role, "{made}");
    made["token"].as_str().unwrap().to_string()
}

/// The path with every `{param}` filled. Ids name nothing, so a handler finds nothing to
/// change and answers 404 or 422 to the roles allowed in.
fn filled(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        out.push_str(match &rest[start + 1..end] {
            "lang" => "en",
            _ => "999999",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_operation_answers_403_exactly_where_the_role_table_says_no() {
    let app = spawn_app().await;
    // The owner walks last, so nothing an owner may do can get in the others' way.
    let callers = [
        (Role::Host, token_with_role(&app, "host").await),
        (Role::Staff, token_with_role(&app, "staff").await),
        (Role::Owner, app.token.clone()),
    ];
    let doc: Value = app
        .get("/api/v1/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().expect("the document has paths");

    let mut walked = 0;
    let mut refused = [0usize; 3];
    let mut let_in = [0usize; 3];
    for (i, (role, token)) in callers.iter().enumerate() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let method = method.to_uppercase();
                let area = api_area(&method, path);
                let may = area.allows(*role);
                // The document says the same as the table it is made from.
                let description = operation["description"].as_str().unwrap_or_default();
                let named = description
                    .lines()
                    .find_map(|l| l.strip_prefix("Roles: "))
                    .unwrap_or_else(|| panic!("{method} {path} names no roles"));
                assert_eq!(
                    named
                        .trim_end_matches('.')
                        .split(", ")
                        .any(|r| r == role.as_str()),
                    may,
                    "{method} {path}: the document says `{named}`"
                );

                let url = app.url(&format!("/api/v1{}", filled(path)));
                let mut request = app
                    .client
                    .request(Method::from_bytes(method.as_bytes()).unwrap(), url)
                    .bearer_auth(token);
                if method != "GET" && method != "DELETE" {
                    request = request.json(&json!({}));
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let who = role.as_str();
                if may {
                    assert_ne!(status, 403, "{who} {method} {path} is allowed: {area:?}");
                    assert_ne!(status, 401, "{who} {method} {path}");
                    let_in[i] += 1;
                } else {
                    assert_eq!(status, 403, "{who} {method} {path} is refused: {area:?}");
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(body["error"]["code"], "forbidden", "{who} {method} {path}");
                    refused[i] += 1;
                }
                if *role == Role::Owner {
                    walked += 1;
                }
            }
        }
    }
    // Every operation in the table but the document itself is in the document.
    assert_eq!(walked, api_operations().count() - 1);
    // The owner is refused nothing; the others are refused some and let into some.
    assert_eq!(refused[2], 0);
    for i in 0..2 {
        assert!(refused[i] > 0 && let_in[i] > 0, "{refused:?} {let_in:?}");
    }
    assert!(refused[0] > refused[1], "a host may do less than staff");
}
