//! The shop's words page (`/settings/synonyms`): the owner's colour, size and counter
//! words as one form of rows, saved whole through the API's checks
//! (`super::super::synonyms`).
//!
//! A child of the console's module: the guard has checked the role and the CSRF token.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use minijinja::{context, Value};

use super::super::synonyms::{check_table, Problem, SynonymInput};
use super::super::AppState;
use super::{failed, now_ms, render, Ctx, NoticeQuery};
use crate::console::synonyms_lang::SynonymTexts;
use crate::parse::synonyms::MAX_ROWS;
use crate::vocab::SynonymKind;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/settings/synonyms", get(page).post(save))
}

/// Blank rows under the table, for new words.
const BLANK_ROWS: usize = 3;

/// One row of the form as the page shows it.
struct FormRow {
    kind: String,
    word: String,
    meaning: String,
    problem: Option<String>,
}

fn view(
    ctx: &Ctx,
    status: StatusCode,
    mut rows: Vec<FormRow>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let s = SynonymTexts::get(ctx.lang);
    rows.extend((0..BLANK_ROWS).map(|_| FormRow {
        kind: SynonymKind::Colour.as_str().to_string(),
        word: String::new(),
        meaning: String::new(),
        problem: None,
    }));
    let kinds: Vec<Value> = [
        (SynonymKind::Colour, s.colour),
        (SynonymKind::Size, s.size),
        (SynonymKind::Counter, s.counter),
    ]
    .into_iter()
    .map(|(k, label)| context! { value => k.as_str(), label => label })
    .collect();
    let rows: Vec<Value> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            context! {
                n => i + 1,
                label => s.row_label(i + 1),
                kind => r.kind,
                word => r.word,
                meaning => r.meaning,
                problem => r.problem,
            }
        })
        .collect();
    render(
        ctx,
        status,
        "synonyms.html",
        context! { s => s, rows => rows, kinds => kinds, notice => notice, error => error },
    )
}

async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let s = SynonymTexts::get(ctx.lang);
    let rows = match state.store.synonyms().await {
        Ok(rows) => rows,
        Err(err) => return failed(err),
    };
    let rows = rows
        .into_iter()
        .map(|r| FormRow {
            kind: r.kind.as_str().to_string(),
            word: r.word,
            meaning: r.meaning,
            problem: None,
        })
        .collect();
    let notice = (query.notice.as_deref() == Some("saved")).then_some(s.saved);
    view(&ctx, StatusCode::OK, rows, notice, None)
}

/// The form repeats `kind`, `word` and `meaning` once per row.
async fn save(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let s = SynonymTexts::get(ctx.lang);
    let column = |name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (kinds, words, meanings) = (column("kind"), column("word"), column("meaning"));
    let mut rows: Vec<FormRow> = words
        .into_iter()
        .zip(meanings)
        .enumerate()
        .map(|(i, (word, meaning))| FormRow {
            kind: kinds.get(i).cloned().unwrap_or_default(),
            word,
            meaning,
            problem: None,
        })
        .filter(|r| !(r.word.trim().is_empty() && r.meaning.trim().is_empty()))
        .collect();
    if rows.len() > MAX_ROWS {
        return view(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            rows,
            None,
            Some(s.too_many),
        );
    }
    let inputs = rows
        .iter()
        .map(|r| SynonymInput {
            kind: r.kind.clone(),
            word: r.word.clone(),
            meaning: r.meaning.clone(),
        })
        .collect();
    let checked = match check_table(&state, inputs).await {
        Ok(checked) => checked,
        Err(err) => return failed(err),
    };
    match checked {
        Ok(table) => match state.store.replace_synonyms(&table, now_ms()).await {
            Ok(()) => Redirect::to("/settings/synonyms?notice=saved").into_response(),
            Err(err) => failed(err),
        },
        Err(problems) => {
            for Problem {
                row, code, about, ..
            } in problems
            {
                // A repeated word names the other row as the page numbers it.
                let about = match code {
                    "repeated" => about
                        .parse::<usize>()
                        .map(|first| s.row_label(first + 1))
                        .unwrap_or(about),
                    _ => about,
                };
                if let Some(r) = rows.get_mut(row) {
                    r.problem.get_or_insert_with(|| s.problem(code, &about));
                }
            }
            view(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                rows,
                None,
                Some(s.not_saved),
            )
        }
    }
}
