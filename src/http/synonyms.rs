//! `/api/v1/synonyms`: the shop's own colour, size and counter words, read and replaced
//! as one table. The live's parser uses a saved table from its next batch.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::{ApiJson, AppState};
use crate::parse::synonyms::{self as rules, MAX_ROWS};
use crate::parse::{Synonym, SynonymKind, SynonymProblem};
use crate::store::SynonymRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_synonyms, put_synonyms))
}

/// The whole table, in the owner's order.
#[derive(Serialize, ToSchema)]
struct SynonymTable {
    synonyms: Vec<SynonymRow>,
}

/// A row as sent; `kind` is checked with the rest, so a refusal can name its row.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SynonymInput {
    /// `colour`, `size` or `counter`.
    #[schema(value_type = SynonymKind)]
    pub kind: String,
    /// What buyers type (1 to 16 letters, one word).
    pub word: String,
    /// For a colour or size, the catalogue option it means (`Burgundy`, `M`) or a word
    /// the parser knows (`red`); for a counter, the units one of it stands for (1 to
    /// 1000) or a built-in counter it counts like (`件`, `打`).
    pub meaning: String,
}

#[derive(Deserialize, ToSchema)]
struct NewSynonymTable {
    synonyms: Vec<SynonymInput>,
}

/// Why one row cannot be saved.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Problem {
    /// Index into the table sent (0 is the first row).
    pub row: usize,
    pub word: String,
    /// `unknown_kind`, `empty_word`, `repeated`, `keyword`, `built_in`…
    pub code: &'static str,
    /// For people, in English.
    pub message: String,
    /// The product code for `keyword`, the first row for `repeated`.
    #[serde(skip)]
    pub about: String,
}

/// The rows as the store keeps them, or every problem of the table. Each word is checked
/// against the fixed vocabulary and against every product's code and aliases.
pub(crate) async fn check_table(
    state: &AppState,
    inputs: Vec<SynonymInput>,
) -> Result<Result<Vec<SynonymRow>, Vec<Problem>>, ApiError> {
    let mut problems = Vec::new();
    let mut rows = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        match SynonymKind::parse(input.kind.trim()) {
            Some(kind) => rows.push((
                i,
                Synonym {
                    kind,
                    word: input.word,
                    meaning: input.meaning,
                },
            )),
            None => problems.push(Problem {
                row: i,
                code: "unknown_kind",
                message: format!(
                    "`{}` is not a kind; use colour, size or counter",
                    input.kind
                ),
                word: input.word,
                about: input.kind,
            }),
        }
    }
    let products = state.store.list_products().await?;
    let keywords: Vec<(String, String)> = products
        .iter()
        .flat_map(|p| {
            std::iter::once(p.code.clone())
                .chain(p.aliases.iter().cloned())
                .map(|w| (w, p.code.clone()))
        })
        .collect();
    let known: Vec<Synonym> = rows.iter().map(|(_, r)| r.clone()).collect();
    for found in rules::check(&known, &keywords) {
        let (row, synonym) = &rows[found.row];
        let about = match &found.problem {
            SynonymProblem::Keyword(code) => code.clone(),
            SynonymProblem::Repeated(first) => rows[*first].0.to_string(),
            _ => String::new(),
        };
        // Rows before this one are numbered as sent, unknown kinds included.
        let message = match &found.problem {
            SynonymProblem::Repeated(first) => {
                format!("row {} has the same word", rows[*first].0)
            }
            other => other.to_string(),
        };
        problems.push(Problem {
            row: *row,
            word: synonym.word.clone(),
            code: found.problem.code(),
            message,
            about,
        });
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.row);
        return Ok(Err(problems));
    }
    Ok(Ok(rows
        .into_iter()
        .map(|(_, s)| SynonymRow {
            kind: s.kind,
            word: s.word.trim().to_string(),
            meaning: s.meaning.trim().to_string(),
        })
        .collect()))
}

fn refusal(problems: &[Problem]) -> ApiError {
    let first = &problems[0];
    ApiError::unprocessable(
        "invalid_synonyms",
        format!(
            "synonyms[{}] (`{}`): {}",
            first.row, first.word, first.message
        ),
    )
    .with_detail("row", first.row)
    .with_detail(
        "problems",
        serde_json::to_value(problems).unwrap_or_default(),
    )
}

/// The shop's own colour, size and counter words.
#[utoipa::path(get, path = "/synonyms", tag = "settings",
    responses((status = 200, body = SynonymTable)))]
async fn get_synonyms(State(state): State<AppState>) -> Result<Json<SynonymTable>, ApiError> {
    Ok(Json(SynonymTable {
        synonyms: state.store.synonyms().await?,
    }))
}

/// Replaces the whole table. Each word is one word the parser does not already read
/// another way, and names no product; a refused table changes nothing (422
/// `invalid_synonyms`, with `row`, the first bad row's index, and `problems`, one per bad
/// row). Live parsers use the new table from their next batch.
#[utoipa::path(put, path = "/synonyms", tag = "settings", request_body = NewSynonymTable,
    responses((status = 200, body = SynonymTable), (status = 422, body = ErrorBody)))]
async fn put_synonyms(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<NewSynonymTable>,
) -> Result<Json<SynonymTable>, ApiError> {
    if request.synonyms.len() > MAX_ROWS {
        return Err(ApiError::unprocessable(
            "too_many_synonyms",
            format!("the table may hold up to {MAX_ROWS} rows"),
        ));
    }
    let rows = match check_table(&state, request.synonyms).await? {
        Ok(rows) => rows,
        Err(problems) => return Err(refusal(&problems)),
    };
    let now = chrono::Utc::now().timestamp_millis();
    state.store.replace_synonyms(&rows, now).await?;
    get_synonyms(State(state)).await
}
