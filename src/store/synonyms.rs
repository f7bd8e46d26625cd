//! The shop's own words (`shop_synonyms`): read whole by the live's parser catalogue at
//! every batch, and replaced whole by the owner.

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row};
use utoipa::ToSchema;

use super::{on_pool, on_tx, Store, StoreResult};
use crate::vocab::SynonymKind;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SynonymRow {
    pub kind: SynonymKind,
    /// What buyers type: `酒紅`, `wine`, `扎`.
    pub word: String,
    /// For a colour or size, the catalogue option it means (`Burgundy`, `M`) or a word
    /// the parser knows (`red`); for a counter, the units one of it stands for (`1`,
    /// `12`) or a built-in counter it counts like (`件`, `打`).
    pub meaning: String,
}

impl Store {
    /// The table, in the owner's order.
    pub async fn synonyms(&self) -> StoreResult<Vec<SynonymRow>> {
        on_pool!(self, |pool| {
            sqlx::query("SELECT kind, word, meaning FROM shop_synonyms ORDER BY position")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| -> StoreResult<SynonymRow> {
                    Ok(SynonymRow {
                        kind: r.try_get(0)?,
                        word: r.try_get(1)?,
                        meaning: r.try_get(2)?,
                    })
                })
                .collect()
        })
    }

    /// Replaces the whole table in one transaction. The caller has checked the rows
    /// (`parse::synonyms::check`); a word twice still fails here, and writes nothing.
    pub async fn replace_synonyms(&self, rows: &[SynonymRow], now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        if tx.is_postgres() {
            // Two owners saving at once: one after the other, not interleaved rows.
            on_tx!(&mut tx, |conn| {
                sqlx::query("LOCK TABLE shop_synonyms IN EXCLUSIVE MODE")
                    .execute(&mut *conn)
                    .await?;
            });
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM shop_synonyms")
                .execute(&mut *conn)
                .await?;
        });
        for (chunk_at, chunk) in rows.chunks(200).enumerate() {
            on_tx!(&mut tx, |conn| {
                let mut query = QueryBuilder::new(
                    "INSERT INTO shop_synonyms (position, kind, word, meaning, updated_at_ms) ",
                );
                query.push_values(chunk.iter().enumerate(), |mut b, (i, row)| {
                    b.push_bind((chunk_at * 200 + i) as i64)
                        .push_bind(row.kind)
                        .push_bind(row.word.trim().to_string())
                        .push_bind(row.meaning.trim().to_string())
                        .push_bind(now);
                });
                query.build().execute(&mut *conn).await?;
            });
        }
        tx.commit().await
    }
}
