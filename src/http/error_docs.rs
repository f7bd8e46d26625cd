//! The error answers every operation can give, added to the OpenAPI document from what
//! each operation takes: the auth layer's 401/403, the store's 503, the path and query
//! extractors' 400 and a path's 404, and a JSON body's 400/413/415/422. All of them in the
//! one error shape, `ErrorBody`.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Which errors an operation can answer, from its parameters and body.
pub(super) fn statuses(operation: &Operation) -> Vec<(&'static str, &'static str)> {
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let mut out = vec![
        ("401", "no valid token or session (`unauthorized`)"),
        ("403", "the caller's role may not call this (`forbidden`), or a session call without `X-CSRF-Token` (`csrf`)"),
        ("503", "the database is unavailable or busy; nothing was changed (`unavailable`, `busy`)"),
    ];
    if has(ParameterIn::Path) {
        out.push(("400", "a path parameter does not parse (`invalid_path`)"));
        out.push(("404", "no such thing (`not_found`)"));
    }
    if has(ParameterIn::Query) {
        out.push(("400", "a query parameter does not parse (`invalid_query`)"));
    }
    if operation.request_body.is_some() {
        out.push(("400", "the body is not JSON (`malformed_json`)"));
        out.push((
            "413",
            "the body is larger than `http.body_limit_bytes` (`body_too_large`)",
        ));
        out.push((
            "415",
            "the body is not sent as `application/json` (`unsupported_media_type`)",
        ));
        out.push((
            "422",
            "the body does not fit the schema, or breaks a rule (`invalid_body` and others)",
        ));
    }
    out
}

/// Adds each operation's error answers it does not list yet, and gives every error answer
/// the error shape as its JSON body.
pub(super) fn add(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            // One entry per status, its causes joined.
            let mut by_status: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (status, text) in statuses(operation) {
                by_status.entry(status).or_default().push(text);
            }
            for (status, texts) in by_status {
                let text = texts.join("; ");
                let responses = &mut operation.responses.responses;
                match responses.get_mut(status) {
                    None => {
                        responses.insert(status.to_string(), error_response(&text).into());
                    }
                    // Already there (the handler's own words, or `RoleDocs`): make sure it
                    // says what its body looks like.
                    Some(RefOr::T(response)) if response.content.is_empty() => {
                        *response = error_response(&response.description).build();
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

fn error_response(text: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(text).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
        let responses = doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"));
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
        responses.keys().cloned().collect()
    }

    #[test]
    fn each_operation_lists_the_errors_its_inputs_can_cause_in_the_error_shape() {
        let doc = serde_json::to_value(super::super::openapi_document()).unwrap();
        let has = |path: &str, method: &str, wanted: &[&str], unwanted: &[&str]| {
            let found = statuses(&doc, path, method);
            for status in wanted {
                assert!(
                    found.iter().any(|s| s == status),
                    "{method} {path}: {found:?}"
                );
            }
            for status in unwanted {
                assert!(
                    !found.iter().any(|s| s == status),
                    "{method} {path}: {found:?}"
                );
            }
        };
        // A path id: 400 when it does not parse, 404 when it names nothing.
        has(
            "/orders/{id}",
            "get",
            &["200", "400", "401", "403", "404", "503"],
            &["415"],
        );
        // Query only.
        has("/orders", "get", &["400", "422", "503"], &["404", "415"]);
        // A JSON body.
        has(
            "/products",
            "post",
            &["400", "413", "415", "422", "503"],
            &["404"],
        );
        // Nothing to get wrong but the token.
        has(
            "/products",
            "get",
            &["401", "403", "503"],
            &["400", "404", "422"],
        );
    }
}
