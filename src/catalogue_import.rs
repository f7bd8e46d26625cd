//! The catalogue as a CSV file (issue 15 §1): the columns, reading a file (plain UTF-8 or
//! Excel's UTF-8 with a byte-order mark, LF or CRLF), checking every row against the
//! catalogue, the diff that says which rows create, update or leave a SKU unchanged, and
//! the export in the same columns.
//!
//! One row is one SKU. The product's own fields (`name`, `price`, `currency`, `aliases`)
//! repeat on each of its rows and must agree. `on_hand` sets the SKU's level: the import
//! adjusts the ledger by the difference (a movement with the reason `import`),
//! so importing a file twice, or an export, changes nothing. An empty `on_hand` leaves the
//! stock alone. An import never deletes a product or a SKU.
//!
//! Rows are numbered as Excel shows them: the header is row 1, the first product row 2.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{
    ImportApplied, ImportProduct, ImportSku, ImportWrite, Product, SkuStock, StockTarget, Store,
    StoreError,
};

/// The columns, in the order the export writes them. An import may order them freely;
/// `option1`..`option3` and `aliases` may be left out.
pub const COLUMNS: [&str; 10] = [
    "code", "name", "option1", "option2", "option3", "sku", "price", "currency", "aliases",
    "on_hand",
];
const OPTIONAL: [&str; 4] = ["option1", "option2", "option3", "aliases"];
const OPTION_COLUMNS: [&str; 3] = ["option1", "option2", "option3"];

/// The most product rows one file may carry.
pub const MAX_ROWS: usize = 5_000;
/// Aliases share one cell: `漁夫帽|bucket hat`.
pub const ALIAS_SEPARATOR: char = '|';
/// The reason the ledger's movements from an import carry.
pub const REASON: &str = "import";
/// The highest `on_hand` a row may set (the stock API's largest adjustment).
pub const MAX_ON_HAND: i64 = 1_000_000;
const BOM: &str = "\u{feff}";

/// What is wrong with one cell (or with the file, at row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The cell is empty but the column needs a value.
    Missing,
    TooLong {
        max: usize,
    },
    /// Not a whole number (prices are minor units: HK$12.50 is 1250).
    NotWholeNumber,
    OutOfRange {
        max: i64,
    },
    /// Not a three-letter currency code.
    Currency,
    /// The same SKU is on an earlier row.
    DuplicateSku {
        first_row: usize,
    },
    /// The product's field differs from its first row.
    Differs {
        first_row: usize,
    },
    /// The SKU exists under another product.
    SkuOfOtherProduct {
        code: String,
    },
    /// The product or SKU belongs to the sandbox's demo shop.
    Sandbox,
    /// An alias repeats the product's code or another of its aliases.
    AliasRepeats {
        alias: String,
    },
    /// A word of this product already names another product.
    AliasTaken {
        word: String,
        code: String,
    },
    /// `on_hand` is below the units held for buyers.
    BelowHeld {
        held: i64,
    },
    /// The header lacks a column that must be there.
    MissingColumn,
    UnknownColumn,
    DuplicateColumn,
    NotUtf8,
    /// The file is not CSV (the reader gave up).
    Malformed,
    /// The file has no header row.
    Empty,
}

impl Problem {
    /// Stable, machine-readable.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::TooLong { .. } => "too_long",
            Problem::NotWholeNumber => "not_a_whole_number",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::Currency => "bad_currency",
            Problem::DuplicateSku { .. } => "duplicate_sku",
            Problem::Differs { .. } => "differs_from_first_row",
            Problem::SkuOfOtherProduct { .. } => "sku_of_other_product",
            Problem::Sandbox => "sandbox_product",
            Problem::AliasRepeats { .. } => "alias_repeats",
            Problem::AliasTaken { .. } => "alias_taken",
            Problem::BelowHeld { .. } => "below_held",
            Problem::MissingColumn => "missing_column",
            Problem::UnknownColumn => "unknown_column",
            Problem::DuplicateColumn => "duplicate_column",
            Problem::NotUtf8 => "not_utf8",
            Problem::Malformed => "malformed",
            Problem::Empty => "empty",
        }
    }

    /// For people, in English (the console says it in the page's language).
    pub fn message(&self) -> String {
        match self {
            Problem::Missing => "needs a value".into(),
            Problem::TooLong { max } => format!("at most {max} characters"),
            Problem::NotWholeNumber => {
                "must be a whole number (prices in minor units: 12.50 is 1250)".into()
            }
            Problem::OutOfRange { max } => format!("must be from 0 to {max}"),
            Problem::Currency => "must be a three-letter code such as HKD or TWD".into(),
            Problem::DuplicateSku { first_row } => {
                format!("this SKU is already on row {first_row}")
            }
            Problem::Differs { first_row } => {
                format!("differs from row {first_row}, the product's first row")
            }
            Problem::SkuOfOtherProduct { code } => {
                format!("this SKU belongs to product `{code}`")
            }
            Problem::Sandbox => "belongs to the sandbox's demo shop".into(),
            Problem::AliasRepeats { alias } => {
                format!("alias `{alias}` repeats the product's code or another of its aliases")
            }
            Problem::AliasTaken { word, code } => {
                format!("`{word}` already names product `{code}`")
            }
            Problem::BelowHeld { held } => {
                format!("{held} units are held for buyers; on_hand cannot go below that")
            }
            Problem::MissingColumn => "the header lacks this column".into(),
            Problem::UnknownColumn => {
                format!("unknown column; the columns are {}", COLUMNS.join(","))
            }
            Problem::DuplicateColumn => "this column is in the header twice".into(),
            Problem::NotUtf8 => "the file is not UTF-8; save it as \"CSV UTF-8\"".into(),
            Problem::Malformed => "this row could not be read as CSV".into(),
            Problem::Empty => "the file is empty; the first row names the columns".into(),
        }
    }
}

/// One problem, where Excel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The header is row 1.
    pub row: usize,
    /// The column's name; empty for a problem of the whole row.
    pub column: String,
    pub problem: Problem,
}

impl RowError {
    fn new(row: usize, column: &str, problem: Problem) -> RowError {
        RowError {
            row,
            column: column.to_string(),
            problem,
        }
    }
}

/// A row error as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowErrorView {
    /// As Excel numbers rows: the header is row 1.
    pub row: usize,
    pub column: String,
    pub code: &'static str,
    pub message: String,
}

impl From<&RowError> for RowErrorView {
    fn from(e: &RowError) -> Self {
        RowErrorView {
            row: e.row,
            column: e.column.clone(),
            code: e.problem.code(),
            message: e.problem.message(),
        }
    }
}

/// One checked product row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    pub row: usize,
    pub code: String,
    pub name: String,
    pub options: Vec<String>,
    pub sku: String,
    /// Minor units.
    pub price: i64,
    pub currency: String,
    pub aliases: Vec<String>,
    /// `None`: leave the stock as it is (0 for a new SKU).
    pub on_hand: Option<i64>,
}

/// The file has more than [`MAX_ROWS`] product rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRows;

/// What reading a file found: the rows that read well and the problems of the others.
#[derive(Debug, Default)]
pub struct ReadFile {
    pub rows: Vec<CsvRow>,
    pub errors: Vec<RowError>,
}

/// A cell as it was meant: trimmed, and without the quote the export puts before a
/// leading `= + - @ '` so Excel shows it as text rather than running a formula.
fn cell_text(raw: &str) -> String {
    let t = raw.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\'']) => rest.to_string(),
        _ => t.to_string(),
    }
}

/// A text cell for the export; see [`cell_text`].
fn export_text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\'']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

fn whole_number(text: &str, max: i64) -> Result<i64, Problem> {
    let n: i64 = text.parse().map_err(|_| Problem::NotWholeNumber)?;
    if !(0..=max).contains(&n) {
        return Err(Problem::OutOfRange { max });
    }
    Ok(n)
}

fn text_cell(text: &str, max: usize) -> Result<String, Problem> {
    if text.is_empty() {
        return Err(Problem::Missing);
    }
    if text.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    Ok(text.to_string())
}

/// The cell under `column` (empty when the row is short or the column absent).
fn cell<'a>(cells: &'a [String], columns: &HashMap<&'static str, usize>, column: &str) -> &'a str {
    columns
        .get(column)
        .and_then(|i| cells.get(*i))
        .map_or("", String::as_str)
}

/// Reads a file: the header first, then every product row, each checked on its own.
/// Blank rows (Excel leaves some at the end) are skipped.
pub fn read(bytes: &[u8]) -> Result<ReadFile, TooManyRows> {
    let bytes = bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = ReadFile::default();
    let mut columns: HashMap<&'static str, usize> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut index = 0usize;
    let mut product_rows = 0usize;
    loop {
        let row = index + 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                out.errors.push(RowError::new(row, "", Problem::Malformed));
                break;
            }
        }
        index += 1;
        let mut cells = Vec::with_capacity(record.len());
        let mut utf8 = true;
        for field in record.iter() {
            match std::str::from_utf8(field) {
                Ok(text) => cells.push(cell_text(text)),
                Err(_) => utf8 = false,
            }
        }
        if !utf8 {
            out.errors.push(RowError::new(row, "", Problem::NotUtf8));
            if row == 1 {
                return Ok(out);
            }
            continue;
        }
        if row == 1 {
            for (i, name) in cells.iter().enumerate() {
                let name = name.to_ascii_lowercase();
                match COLUMNS.iter().find(|c| **c == name) {
                    Some(column) if columns.insert(*column, i).is_some() => out
                        .errors
                        .push(RowError::new(1, column, Problem::DuplicateColumn)),
                    Some(_) => {}
                    None if name.is_empty() => {}
                    None => out
                        .errors
                        .push(RowError::new(1, &name, Problem::UnknownColumn)),
                }
            }
            for column in COLUMNS {
                if !columns.contains_key(column) && !OPTIONAL.contains(&column) {
                    out.errors
                        .push(RowError::new(1, column, Problem::MissingColumn));
                }
            }
            if !out.errors.is_empty() {
                return Ok(out);
            }
            continue;
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        product_rows += 1;
        if product_rows > MAX_ROWS {
            return Err(TooManyRows);
        }
        let get = |column: &str| cell(&cells, &columns, column).to_string();
        let before = out.errors.len();
        let mut check = |column: &str, result: Result<String, Problem>| match result {
            Ok(value) => value,
            Err(problem) => {
                out.errors.push(RowError::new(row, column, problem));
                String::new()
            }
        };
        let code = check("code", text_cell(&get("code"), 32));
        let name = check("name", text_cell(&get("name"), 200));
        let mut options = Vec::new();
        for column in OPTION_COLUMNS {
            let value = get(column);
            if !value.is_empty() {
                options.push(check(column, text_cell(&value, 32)));
            }
        }
        let sku = check("sku", text_cell(&get("sku"), 64));
        let price = match get("price").as_str() {
            "" => Err(Problem::Missing),
            text => whole_number(text, crate::http::MAX_PRICE),
        };
        let currency = get("currency").to_ascii_uppercase();
        let currency = if currency.is_empty() {
            Err(Problem::Missing)
        } else if currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(currency)
        } else {
            Err(Problem::Currency)
        };
        let currency = check("currency", currency);
        let mut aliases = Vec::new();
        for alias in get("aliases").split(ALIAS_SEPARATOR) {
            let alias = alias.trim();
            if !alias.is_empty() {
                aliases.push(check("aliases", text_cell(alias, 32)));
            }
        }
        let on_hand = match get("on_hand").as_str() {
            "" => None,
            text => match whole_number(text, MAX_ON_HAND) {
                Ok(n) => Some(n),
                Err(problem) => {
                    out.errors.push(RowError::new(row, "on_hand", problem));
                    None
                }
            },
        };
        let price = match price {
            Ok(p) => p,
            Err(problem) => {
                out.errors.push(RowError::new(row, "price", problem));
                0
            }
        };
        if out.errors.len() == before {
            out.rows.push(CsvRow {
                row,
                code,
                name,
                options,
                sku,
                price,
                currency,
                aliases,
                on_hand,
            });
        }
    }
    if index == 0 {
        out.errors.push(RowError::new(1, "", Problem::Empty));
    }
    out.errors.sort_by_key(|e| e.row);
    Ok(out)
}

/// What an import would do, or did: one count per product row, and every problem.
#[derive(Debug, Default)]
pub struct Plan {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    /// The rows to write, when there are no errors.
    pub write: ImportWrite,
}

fn options_union(existing: &[String], more: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all = existing.to_vec();
    for option in more {
        if !all.contains(&option) {
            all.push(option);
        }
    }
    all
}

/// Checks the rows against the catalogue and each other, and works out the writes.
pub fn plan(file: ReadFile, catalogue: &[Product]) -> Plan {
    let mut errors = file.errors;
    let rows = file.rows;
    let by_code: HashMap<&str, &Product> = catalogue.iter().map(|p| (p.code.as_str(), p)).collect();
    let by_sku: HashMap<&str, (&Product, &SkuStock)> = catalogue
        .iter()
        .flat_map(|p| p.skus.iter().map(move |s| (s.sku.as_str(), (p, s))))
        .collect();

    // Rows grouped by product, in first-seen order.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<&CsvRow>> = HashMap::new();
    let mut first_sku: HashMap<&str, usize> = HashMap::new();
    let mut bad_rows: HashSet<usize> = HashSet::new();
    for row in &rows {
        if let Some(first_row) = first_sku.get(row.sku.as_str()) {
            errors.push(RowError::new(
                row.row,
                "sku",
                Problem::DuplicateSku {
                    first_row: *first_row,
                },
            ));
            bad_rows.insert(row.row);
            continue;
        }
        first_sku.insert(&row.sku, row.row);
        let group = groups.entry(&row.code).or_default();
        if group.is_empty() {
            order.push(&row.code);
        }
        group.push(row);
    }

    // Every word (code or alias) as the parser compares them, after the import.
    let mut words: HashMap<String, Vec<&str>> = HashMap::new();
    for product in catalogue
        .iter()
        .filter(|p| !groups.contains_key(p.code.as_str()))
    {
        for word in std::iter::once(&product.code).chain(&product.aliases) {
            words
                .entry(crate::parse::normalise(word))
                .or_default()
                .push(&product.code);
        }
    }
    for &code in &order {
        let first = groups[code][0];
        for word in std::iter::once(&first.code).chain(&first.aliases) {
            words
                .entry(crate::parse::normalise(word))
                .or_default()
                .push(code);
        }
    }

    let mut write = ImportWrite {
        reason: REASON.to_string(),
        ..ImportWrite::default()
    };
    let (mut created, mut updated, mut unchanged) = (0, 0, 0);
    for &code in &order {
        let group = &groups[code];
        let first = group[0];
        let existing = by_code.get(code).copied();
        let mut group_errors = Vec::new();
        if existing.is_some_and(|p| p.sandbox) {
            group_errors.push(RowError::new(first.row, "code", Problem::Sandbox));
        }
        for row in &group[1..] {
            let differs = [
                ("name", row.name != first.name),
                ("price", row.price != first.price),
                ("currency", row.currency != first.currency),
                ("aliases", row.aliases != first.aliases),
            ];
            for (column, differs) in differs {
                if differs {
                    group_errors.push(RowError::new(
                        row.row,
                        column,
                        Problem::Differs {
                            first_row: first.row,
                        },
                    ));
                }
            }
        }
        let code_key = crate::parse::normalise(code);
        let mut seen = HashSet::new();
        for alias in &first.aliases {
            let key = crate::parse::normalise(alias);
            if key == code_key || !seen.insert(key.clone()) {
                group_errors.push(RowError::new(
                    first.row,
                    "aliases",
                    Problem::AliasRepeats {
                        alias: alias.clone(),
                    },
                ));
                continue;
            }
            if let Some(other) = words[&key].iter().find(|c| **c != code) {
                group_errors.push(RowError::new(
                    first.row,
                    "aliases",
                    Problem::AliasTaken {
                        word: alias.clone(),
                        code: other.to_string(),
                    },
                ));
            }
        }
        // Code against another's code is the unique code's business, as on the API.
        let alias_named = catalogue
            .iter()
            .filter(|p| p.code != code && !groups.contains_key(p.code.as_str()))
            .map(|p| (p.code.as_str(), p.aliases.as_slice()))
            .chain(
                order
                    .iter()
                    .filter(|c| **c != code)
                    .map(|c| (*c, groups[*c][0].aliases.as_slice())),
            )
            .find(|(_, aliases)| {
                aliases
                    .iter()
                    .any(|a| crate::parse::normalise(a) == code_key)
            });
        if let Some((other, _)) = alias_named {
            group_errors.push(RowError::new(
                first.row,
                "code",
                Problem::AliasTaken {
                    word: code.to_string(),
                    code: other.to_string(),
                },
            ));
        }
        for row in group {
            if let Some((owner, sku)) = by_sku.get(row.sku.as_str()) {
                if owner.code != row.code {
                    group_errors.push(RowError::new(
                        row.row,
                        "sku",
                        Problem::SkuOfOtherProduct {
                            code: owner.code.clone(),
                        },
                    ));
                } else if row.on_hand.is_some_and(|t| t < sku.reserved) {
                    group_errors.push(RowError::new(
                        row.row,
                        "on_hand",
                        Problem::BelowHeld { held: sku.reserved },
                    ));
                }
            }
        }
        for e in &group_errors {
            bad_rows.insert(e.row);
        }
        errors.extend(group_errors);

        // The diff, for the rows that are fine.
        let product_changed = existing.is_some_and(|p| {
            p.name != first.name
                || p.price != first.price
                || p.currency != first.currency
                || p.aliases != first.aliases
        });
        let mut new_options = Vec::new();
        let mut skus_changed = false;
        for row in group.iter().filter(|r| !bad_rows.contains(&r.row)) {
            let known = by_sku.get(row.sku.as_str()).map(|(_, s)| *s);
            match known {
                None => {
                    created += 1;
                    skus_changed = true;
                    new_options.extend(row.options.iter().cloned());
                    write.new_skus.push(ImportSku {
                        product_id: existing.map(|p| p.id),
                        code: row.code.clone(),
                        sku: row.sku.clone(),
                        options: row.options.clone(),
                    });
                    if let Some(on_hand) = row.on_hand.filter(|n| *n > 0) {
                        write.stock.push(StockTarget {
                            sku: row.sku.clone(),
                            sku_id: None,
                            on_hand,
                        });
                    }
                }
                Some(sku) => {
                    let options_changed = sku.options != row.options;
                    let stock_changed = row.on_hand.is_some_and(|n| n != sku.on_hand);
                    if options_changed {
                        skus_changed = true;
                        new_options.extend(row.options.iter().cloned());
                        write.changed_skus.push((sku.id, row.options.clone()));
                    }
                    if let Some(on_hand) = row.on_hand.filter(|_| stock_changed) {
                        write.stock.push(StockTarget {
                            sku: row.sku.clone(),
                            sku_id: Some(sku.id),
                            on_hand,
                        });
                    }
                    if product_changed || options_changed || stock_changed {
                        updated += 1;
                    } else {
                        unchanged += 1;
                    }
                }
            }
        }
        let product = |options: Vec<String>| ImportProduct {
            code: first.code.clone(),
            name: first.name.clone(),
            price: first.price,
            currency: first.currency.clone(),
            options,
            aliases: first.aliases.clone(),
        };
        match existing {
            None => write
                .new_products
                .push(product(options_union(&[], new_options))),
            // Options are only ever added: a product's options may name variants to come.
            Some(p) if product_changed || skus_changed => write
                .changed_products
                .push((p.id, product(options_union(&p.options, new_options)))),
            Some(_) => {}
        }
    }
    errors.sort_by_key(|e| e.row);
    if !errors.is_empty() {
        write = ImportWrite::default();
    }
    Plan {
        created,
        updated,
        unchanged,
        errors,
        write,
    }
}

/// The catalogue in the import's columns, for Excel: UTF-8 with a byte-order mark, CRLF,
/// one row per SKU. The sandbox's demo products are left out.
pub fn export(products: &[Product]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut write = |fields: &[String]| {
        // Writing to a Vec fails only when out of memory.
        let _ = writer.write_record(fields);
    };
    write(&COLUMNS.map(String::from));
    for product in products.iter().filter(|p| !p.sandbox) {
        let aliases = product.aliases.join(&ALIAS_SEPARATOR.to_string());
        for sku in &product.skus {
            let option = |i: usize| -> String {
                if i == 2 && sku.options.len() > 3 {
                    // Only the JSON API can make a fourth option; keep them in one cell.
                    export_text(&sku.options[2..].join(" "))
                } else {
                    sku.options
                        .get(i)
                        .map(|o| export_text(o))
                        .unwrap_or_default()
                }
            };
            write(&[
                export_text(&product.code),
                export_text(&product.name),
                option(0),
                option(1),
                option(2),
                export_text(&sku.sku),
                product.price.to_string(),
                product.currency.clone(),
                export_text(&aliases),
                sku.on_hand.to_string(),
            ]);
        }
    }
    let bytes = writer.into_inner().unwrap_or_default();
    format!("{BOM}{}", String::from_utf8_lossy(&bytes))
}

/// What an import did, or would do.
#[derive(Debug)]
pub struct Outcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowError>,
    /// Whether the rows were written (never when there are errors).
    pub written: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has more than {MAX_ROWS} product rows")]
    TooManyRows,
    /// A SKU's held units grew past its new `on_hand` between the check and the write.
    #[error("{held} units of `{sku}` are held now; nothing was written")]
    StockChanged { sku: String, held: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a file and, when `write` and every row is fine, writes all of it in one
/// transaction; otherwise writes nothing.
pub async fn import(store: &Store, bytes: &[u8], write: bool) -> Result<Outcome, ImportError> {
    let file = read(bytes).map_err(|TooManyRows| ImportError::TooManyRows)?;
    let catalogue = store.list_products().await?;
    let plan = plan(file, &catalogue);
    let mut outcome = Outcome {
        created: plan.created,
        updated: plan.updated,
        unchanged: plan.unchanged,
        errors: plan.errors,
        written: false,
    };
    if write && outcome.errors.is_empty() {
        match store.import_catalogue(&plan.write).await? {
            ImportApplied::Done => outcome.written = true,
            ImportApplied::BelowHeld { sku, held } => {
                return Err(ImportError::StockChanged { sku, held })
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "code,name,option1,option2,option3,sku,price,currency,aliases,on_hand";

    fn product(id: i64, code: &str, skus: &[(&str, &[&str], i64, i64)]) -> Product {
        Product {
            id,
            code: code.into(),
            name: format!("{code} name"),
            price: 1000,
            currency: "HKD".into(),
            options: Vec::new(),
            skus: skus
                .iter()
                .enumerate()
                .map(|(i, (sku, options, on_hand, reserved))| SkuStock {
                    id: id * 100 + i as i64,
                    sku: sku.to_string(),
                    options: options.iter().map(|o| o.to_string()).collect(),
                    on_hand: *on_hand,
                    reserved: *reserved,
                    available: on_hand - reserved,
                })
                .collect(),
            sandbox: false,
            aliases: Vec::new(),
        }
    }

    #[test]
    fn bom_crlf_and_plain_read_alike() {
        let plain =
            format!("{HEADER}\nA01,\"Tee, \"\"red\"\"\",紅,M,,A01-R-M,12500,hkd,tee|T恤,5\n");
        let excel = format!("\u{feff}{}", plain.replace('\n', "\r\n"));
        let a = read(plain.as_bytes()).unwrap();
        let b = read(excel.as_bytes()).unwrap();
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert_eq!(a.rows, b.rows);
        let row = &a.rows[0];
        assert_eq!(row.row, 2);
        assert_eq!(row.name, "Tee, \"red\"");
        assert_eq!(row.options, ["紅", "M"]);
        assert_eq!(row.currency, "HKD");
        assert_eq!(row.aliases, ["tee", "T恤"]);
        assert_eq!(row.on_hand, Some(5));
    }

    #[test]
    fn errors_name_the_row_as_excel_does_and_the_column() {
        let text = format!(
            "{HEADER}\nA01,,,,,A01-1,12.50,HKD,,1\n,,,,,,,,,\nA02,Cap,,,,A02-1,100,HK,,-3\n"
        );
        let file = read(text.as_bytes()).unwrap();
        let found: Vec<(usize, &str, &str)> = file
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str(), e.problem.code()))
            .collect();
        assert_eq!(
            found,
            [
                (2, "name", "missing"),
                (2, "price", "not_a_whole_number"),
                (4, "currency", "bad_currency"),
                (4, "on_hand", "out_of_range"),
            ]
        );
        let header = read(b"code,name,sku,price,colour\n").unwrap();
        let found: Vec<(&str, &str)> = header
            .errors
            .iter()
            .map(|e| (e.column.as_str(), e.problem.code()))
            .collect();
        assert_eq!(
            found,
            [
                ("colour", "unknown_column"),
                ("currency", "missing_column"),
                ("on_hand", "missing_column")
            ]
        );
        assert_eq!(read(b"").unwrap().errors[0].problem, Problem::Empty);
        let mut latin1 = format!("{HEADER}\n").into_bytes();
        latin1.extend_from_slice(b"A01,T\xe9,,,,A01-1,1,HKD,,1\n");
        let file = read(&latin1).unwrap();
        assert_eq!(
            (file.errors[0].row, &file.errors[0].problem),
            (2, &Problem::NotUtf8)
        );
        let big = format!("{HEADER}\n{}", "A,a,,,,S,1,HKD,,1\n".repeat(MAX_ROWS + 1));
        assert_eq!(read(big.as_bytes()).unwrap_err(), TooManyRows);
    }

    #[test]
    fn the_diff_sets_levels_and_never_goes_below_held() {
        let catalogue = vec![product(1, "A01", &[("A01-1", &["紅"], 5, 2)])];
        let csv = format!(
            "{HEADER}\nA01,A01 name,紅,,,A01-1,1000,HKD,,5\nA01,A01 name,藍,,,A01-2,1000,HKD,,3\n"
        );
        let planned = plan(read(csv.as_bytes()).unwrap(), &catalogue);
        assert!(planned.errors.is_empty(), "{:?}", planned.errors);
        assert_eq!(
            (planned.created, planned.updated, planned.unchanged),
            (1, 0, 1)
        );
        assert_eq!(planned.write.new_skus.len(), 1);
        assert_eq!(planned.write.changed_products[0].1.options, ["藍"]);
        assert_eq!(planned.write.stock.len(), 1);

        let csv = format!("{HEADER}\nA01,Renamed,紅,,,A01-1,1000,HKD,,1\n");
        let planned = plan(read(csv.as_bytes()).unwrap(), &catalogue);
        assert_eq!(planned.errors[0].problem, Problem::BelowHeld { held: 2 });
        assert_eq!(planned.errors[0].column, "on_hand");
        assert!(planned.write.changed_products.is_empty());
    }

    #[test]
    fn rows_of_one_product_agree_and_words_name_one_product() {
        let mut b = product(2, "B01", &[("B01-1", &[], 1, 0)]);
        b.aliases = vec!["帽".into()];
        let catalogue = vec![product(1, "A01", &[("A01-1", &[], 1, 0)]), b];
        let csv = format!(
            "{HEADER}\n\
             C01,Cap,,,,C01-1,100,HKD,帽,1\n\
             C01,Cap,,,,C01-2,200,HKD,帽,1\n\
             C01,Cap,,,,A01-1,100,HKD,帽,1\n\
             D01,Dress,,,,C01-1,100,HKD,,1\n"
        );
        let planned = plan(read(csv.as_bytes()).unwrap(), &catalogue);
        let found: Vec<(usize, &str, &str)> = planned
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str(), e.problem.code()))
            .collect();
        assert_eq!(
            found,
            [
                (2, "aliases", "alias_taken"),
                (3, "price", "differs_from_first_row"),
                (4, "sku", "sku_of_other_product"),
                (5, "sku", "duplicate_sku"),
            ]
        );
    }

    #[test]
    fn the_export_reads_back_as_it_was() {
        let mut a = product(1, "=A01", &[("A01-1", &["紅", "M"], 5, 0)]);
        a.name = "Tee, \"best\" 恤\nline".into();
        a.aliases = vec!["tee".into(), "-t".into()];
        let catalogue = vec![a];
        let text = export(&catalogue);
        assert!(text.starts_with('\u{feff}') && text.contains("\r\n"));
        assert!(text.contains("'=A01"), "{text}");
        let planned = plan(read(text.as_bytes()).unwrap(), &catalogue);
        assert!(planned.errors.is_empty(), "{:?}", planned.errors);
        assert_eq!(
            (planned.created, planned.updated, planned.unchanged),
            (0, 0, 1)
        );
    }
}
