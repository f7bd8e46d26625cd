//! `plusone parse --catalog FILE`: JSON Lines in, one parse result per line out.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::parse::{parse, Catalog, CatalogFile, Intent, Limits, ParseInput};

/// Reads the catalogue, then parses every input line. A bad line gets an `{"error":…}`
/// line in its place, so outputs stay aligned with inputs; the count of bad lines is
/// returned for the exit code. The counts of each answer go to stderr at the end,
/// never to stdout.
pub fn run(
    catalog_path: &Path,
    max_qty: u32,
    input: impl BufRead,
    mut output: impl Write,
) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(catalog_path).map_err(|e| {
        anyhow::anyhow!(
            "could not read the catalogue {}: {e}",
            catalog_path.display()
        )
    })?;
    let file: CatalogFile = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("the catalogue {} is not valid: {e}", catalog_path.display())
    })?;
    let catalog = Catalog::from(file);
    let limits = Limits { max_qty };
    let mut bad = 0;
    // order, cancel, question, none, review
    let mut counts = [0usize; 5];
    for (number, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<ParseInput>(&line) {
            Ok(request) => {
                let parsed = parse(&request.text, &catalog, request.current.as_deref(), &limits);
                let slot = match (parsed.needs_review, parsed.intent) {
                    (true, _) => 4,
                    (false, Intent::Order) => 0,
                    (false, Intent::Cancel) => 1,
                    (false, Intent::Question) => 2,
                    (false, Intent::None) => 3,
                };
                counts[slot] += 1;
                serde_json::to_string(&parsed)?
            }
            Err(err) => {
                bad += 1;
                eprintln!("plusone parse: line {}: {err}", number + 1);
                serde_json::json!({"error": format!("line {}: {err}", number + 1)}).to_string()
            }
        };
        writeln!(output, "{answer}")?;
    }
    output.flush()?;
    let [order, cancel, question, none, review] = counts;
    eprintln!(
        "plusone parse: {order} order, {cancel} cancel, {question} question, {review} review, {none} none, {bad} bad"
    );
    Ok(bad)
}
