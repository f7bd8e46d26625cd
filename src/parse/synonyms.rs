//! The shop's own words: colours, sizes and counters the fixed lexicon does not know, or
//! knows but cannot map onto this shop's catalogue (`酒紅` for a catalogue that says
//! `Burgundy`, `扎` as a counter). The table is data the owner edits; here are its rules.
//!
//! A shop word may add a meaning but never change one: a word the parser already reads
//! some other way (an intent word, a number, a built-in counter of another size, a colour
//! of another group), or a word that names a product, is refused, so one comment never
//! reads two ways depending on whose table it met.

use std::collections::HashMap;
use std::fmt;

pub use crate::vocab::SynonymKind;

use super::catalog::option_key;
use super::lexicon::{
    cjk_counter, is_cjk_money, is_word_money, lexicon, option_group_of, option_suffix,
    word_counter, Lex, OptionKind,
};
use super::normalise::normalise;
use super::numerals::is_numeral;
use super::scan::english_number;

/// The longest word, in characters.
pub const MAX_WORD_CHARS: usize = 16;
/// The longest meaning, in characters.
pub const MAX_MEANING_CHARS: usize = 32;
/// The most rows one shop's table may hold.
pub const MAX_ROWS: usize = 500;
/// The most units one counter may stand for.
pub const MAX_COUNTER_UNITS: u64 = 1000;

/// One row of the table, as the owner wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synonym {
    pub kind: SynonymKind,
    /// What buyers type: `酒紅`, `wine`, `扎`.
    pub word: String,
    /// For a colour or size, the catalogue's option it means (`Burgundy`, `M`), or a word
    /// the lexicon knows (`red`); for a counter, how many units one of it is (`1`, `12`),
    /// or a built-in counter it counts like (`件`, `打`).
    pub meaning: String,
}

/// Why a row cannot be part of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SynonymProblem {
    EmptyWord,
    EmptyMeaning,
    WordTooLong,
    MeaningTooLong,
    /// Spaces, digits or signs, or Latin letters mixed with Chinese.
    NotOneWord,
    /// The parser would read it as a number.
    Number,
    /// An earlier row (index) has the same word.
    Repeated(usize),
    /// It is a product's keyword or alias.
    Keyword(String),
    /// The parser already reads it another way; the text says how.
    BuiltIn(String),
    /// A colour meaning a size, or a size meaning a colour.
    MeaningOfOtherKind,
    /// A counter's meaning is neither a number of units nor a built-in counter.
    BadCount,
}

impl SynonymProblem {
    /// A stable code, for tools and for the console's own sentences.
    pub fn code(&self) -> &'static str {
        match self {
            SynonymProblem::EmptyWord => "empty_word",
            SynonymProblem::EmptyMeaning => "empty_meaning",
            SynonymProblem::WordTooLong => "word_too_long",
            SynonymProblem::MeaningTooLong => "meaning_too_long",
            SynonymProblem::NotOneWord => "not_one_word",
            SynonymProblem::Number => "number",
            SynonymProblem::Repeated(_) => "repeated",
            SynonymProblem::Keyword(_) => "keyword",
            SynonymProblem::BuiltIn(_) => "built_in",
            SynonymProblem::MeaningOfOtherKind => "meaning_of_other_kind",
            SynonymProblem::BadCount => "bad_count",
        }
    }
}

impl fmt::Display for SynonymProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynonymProblem::EmptyWord => f.write_str("the word is empty"),
            SynonymProblem::EmptyMeaning => f.write_str("the meaning is empty"),
            SynonymProblem::WordTooLong => {
                write!(f, "the word is longer than {MAX_WORD_CHARS} characters")
            }
            SynonymProblem::MeaningTooLong => {
                write!(f, "the meaning is longer than {MAX_MEANING_CHARS} characters")
            }
            SynonymProblem::NotOneWord => f.write_str(
                "the word must be one word of letters: no spaces, digits or signs, \
                 and not Latin letters mixed with Chinese",
            ),
            SynonymProblem::Number => f.write_str("the word reads as a number"),
            SynonymProblem::Repeated(row) => write!(f, "row {row} has the same word"),
            SynonymProblem::Keyword(code) => write!(f, "the word names product `{code}`"),
            SynonymProblem::BuiltIn(means) => {
                write!(f, "the parser already reads the word as {means}")
            }
            SynonymProblem::MeaningOfOtherKind => {
                f.write_str("the meaning is an option of the other kind (a colour for a size, or a size for a colour)")
            }
            SynonymProblem::BadCount => write!(
                f,
                "a counter means a whole number of units from 1 to {MAX_COUNTER_UNITS}, \
                 or a built-in counter such as 件 or 打"
            ),
        }
    }
}

/// A problem and the index of the row it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    pub row: usize,
    pub problem: SynonymProblem,
}

/// The form in which a row's word is compared and stored in the parser's tables: an
/// option without its `色`/`碼` suffix, a counter as it is.
pub(crate) fn word_key(kind: SynonymKind, word: &str) -> String {
    let n = normalise(word.trim());
    match kind {
        SynonymKind::Counter => n,
        SynonymKind::Colour | SynonymKind::Size => option_key(&n).to_string(),
    }
}

/// The comparison form of a colour's or size's meaning.
pub(crate) fn meaning_key(meaning: &str) -> String {
    option_key(&normalise(meaning.trim())).to_string()
}

/// Units per counter that a counter row's meaning says.
pub(crate) fn counter_units(meaning: &str) -> Option<u64> {
    let m = normalise(meaning.trim());
    if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) {
        return m
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_COUNTER_UNITS).contains(n));
    }
    let mut chars = m.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_ascii() => cjk_counter(c),
        _ => word_counter(&m),
    }
}

fn option_kind(kind: SynonymKind) -> Option<OptionKind> {
    match kind {
        SynonymKind::Colour => Some(OptionKind::Colour),
        SynonymKind::Size => Some(OptionKind::Size),
        SynonymKind::Counter => None,
    }
}

fn kind_name(kind: OptionKind) -> &'static str {
    match kind {
        OptionKind::Colour => "colour",
        OptionKind::Size => "size",
        OptionKind::Other => "option",
    }
}

/// How the fixed vocabulary reads `key` (a word key), if at all.
fn built_in_reading(key: &str) -> Option<String> {
    if let Some((_, kind, name)) = option_group_of(key) {
        return Some(format!("the {} `{name}`", kind_name(kind)));
    }
    let mut chars = key.chars();
    let single = match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    let counter = match single {
        Some(c) if !c.is_ascii() => cjk_counter(c),
        _ => word_counter(key),
    };
    if let Some(per) = counter {
        return Some(format!("a counter of {per}"));
    }
    let money = match single {
        Some(c) if !c.is_ascii() => is_cjk_money(c),
        _ => is_word_money(key),
    };
    if money {
        return Some("money".into());
    }
    match lexicon().whole(key) {
        Some(Lex::Option(kind)) => Some(format!("a {}", kind_name(kind))),
        Some(_) => Some("an order, cancel, question or filler word".into()),
        None => None,
    }
}

/// An empty or overlong word.
fn size_problem(word: &str, key: &str) -> Option<SynonymProblem> {
    let trimmed = word.trim();
    if trimmed.is_empty() || key.is_empty() {
        return Some(SynonymProblem::EmptyWord);
    }
    (trimmed.chars().count() > MAX_WORD_CHARS).then_some(SynonymProblem::WordTooLong)
}

/// A word the scanner could not read as one option or counter word.
fn shape_problem(kind: SynonymKind, key: &str) -> Option<SynonymProblem> {
    let one_word = key.chars().all(char::is_alphabetic)
        && (key.is_ascii() || key.chars().all(|c| !c.is_ascii()));
    if !one_word {
        return Some(SynonymProblem::NotOneWord);
    }
    // `x2` is a times sign; `兩`, `three` are numbers.
    if key.chars().next().is_some_and(is_numeral) || english_number(key).is_some() || key == "x" {
        return Some(SynonymProblem::Number);
    }
    // `色` alone is not a colour; an option key keeps it only when it is all there is.
    if kind != SynonymKind::Counter && key.chars().count() == 1 && key.chars().all(option_suffix) {
        return Some(SynonymProblem::NotOneWord);
    }
    None
}

/// A row's problem with the fixed vocabulary: a clash, or a meaning that does not fit.
fn meaning_problem(row: &Synonym, key: &str) -> Option<SynonymProblem> {
    let meaning = row.meaning.trim();
    if meaning.is_empty() {
        return Some(SynonymProblem::EmptyMeaning);
    }
    if meaning.chars().count() > MAX_MEANING_CHARS {
        return Some(SynonymProblem::MeaningTooLong);
    }
    match option_kind(row.kind) {
        None => {
            let Some(units) = counter_units(meaning) else {
                return Some(SynonymProblem::BadCount);
            };
            // A built-in counter of the same size is harmless; anything else the parser
            // reads already would change.
            let same_counter = {
                let mut chars = key.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_ascii() => cjk_counter(c),
                    _ => word_counter(key),
                }
            } == Some(units);
            if !same_counter {
                if let Some(means) = built_in_reading(key) {
                    return Some(SynonymProblem::BuiltIn(means));
                }
            }
            None
        }
        Some(kind) => {
            let mkey = meaning_key(meaning);
            if mkey.is_empty() {
                return Some(SynonymProblem::EmptyMeaning);
            }
            let meant = option_group_of(&mkey);
            if meant.is_some_and(|(_, k, _)| k != kind) {
                return Some(SynonymProblem::MeaningOfOtherKind);
            }
            match option_group_of(key) {
                // The word is in the option table: the same kind, and a meaning the table
                // does not put in another group, only adds the shop's spelling.
                Some((group, k, name)) => {
                    let other_group = meant.is_some_and(|(g, _, _)| g != group);
                    if k != kind || other_group {
                        return Some(SynonymProblem::BuiltIn(format!(
                            "the {} `{name}`",
                            kind_name(k)
                        )));
                    }
                    None
                }
                None => built_in_reading(key).map(SynonymProblem::BuiltIn),
            }
        }
    }
}

/// Every problem of a table, by row, against the shop's product keywords and aliases
/// (`keywords`: (word as the shop spells it, the product's code)). Empty when the table
/// may be saved.
pub fn check(rows: &[Synonym], keywords: &[(String, String)]) -> Vec<RowProblem> {
    let names: HashMap<String, &str> = keywords
        .iter()
        .map(|(word, code)| (normalise(word.trim()), code.as_str()))
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let key = word_key(row.kind, &row.word);
        let whole = normalise(row.word.trim());
        let problem = size_problem(&row.word, &key)
            .or_else(|| {
                names
                    .get(&key)
                    .or_else(|| names.get(&whole))
                    .map(|code| SynonymProblem::Keyword(code.to_string()))
            })
            .or_else(|| shape_problem(row.kind, &key))
            .or_else(|| seen.get(&key).map(|&first| SynonymProblem::Repeated(first)))
            .or_else(|| meaning_problem(row, &key));
        seen.entry(key).or_insert(i);
        if let Some(problem) = problem {
            problems.push(RowProblem { row: i, problem });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: SynonymKind, word: &str, meaning: &str) -> Synonym {
        Synonym {
            kind,
            word: word.into(),
            meaning: meaning.into(),
        }
    }

    fn problem(kind: SynonymKind, word: &str, meaning: &str) -> Option<SynonymProblem> {
        let keywords = [
            ("A01".to_string(), "A01".to_string()),
            ("漁夫帽".into(), "H01".into()),
        ];
        check(&[row(kind, word, meaning)], &keywords)
            .pop()
            .map(|p| p.problem)
    }

    use SynonymKind::{Colour, Counter, Size};

    #[test]
    fn new_words_and_new_spellings_of_a_group_are_taken() {
        for (kind, word, meaning) in [
            (Colour, "酒紅", "Burgundy"),
            (Colour, "酒紅色", "Wine"),
            (Colour, "wine", "Burgundy"),
            (Colour, "紅", "Wine"),
            (Colour, "紅", "紅色"),
            (Colour, "墨黑", "black"),
            (Size, "細碼", "S"),
            (Size, "童裝", "Kids"),
            (Counter, "扎", "1"),
            (Counter, "bundle", "件"),
            (Counter, "盤", "12"),
            (Counter, "套", "1"),
            (Counter, "打", "12"),
            (Counter, "盒裝", "dozen"),
        ] {
            assert_eq!(problem(kind, word, meaning), None, "{word} → {meaning}");
        }
    }

    #[test]
    fn a_word_the_parser_reads_otherwise_is_refused() {
        for (kind, word, meaning, code) in [
            (Colour, "黑", "White", "built_in"),
            (Colour, "m", "Wine", "built_in"),
            (Size, "紅", "M", "built_in"),
            (Colour, "要", "Red", "built_in"),
            (Colour, "cancel", "Red", "built_in"),
            (Colour, "件", "Red", "built_in"),
            (Colour, "蚊", "Red", "built_in"),
            (Counter, "打", "1", "built_in"),
            (Counter, "大", "1", "built_in"),
            (Counter, "取消", "1", "built_in"),
            (Colour, "兩", "Red", "number"),
            (Counter, "three", "1", "number"),
            (Colour, "x", "Red", "number"),
            (Colour, "a01", "Red", "keyword"),
            (Colour, "Ａ01", "Red", "keyword"),
            (Colour, "漁夫帽", "Red", "keyword"),
            (Colour, "", "Red", "empty_word"),
            (Colour, "  ", "Red", "empty_word"),
            (Colour, "酒紅", " ", "empty_meaning"),
            (Colour, "酒 紅", "Red", "not_one_word"),
            (Colour, "wine1", "Red", "not_one_word"),
            (Colour, "wine紅", "Red", "not_one_word"),
            (Colour, "色", "Red", "not_one_word"),
            (Colour, &"長".repeat(17), "Red", "word_too_long"),
            (Colour, "酒紅", &"長".repeat(33), "meaning_too_long"),
            (Colour, "酒紅", "XL", "meaning_of_other_kind"),
            (Size, "童裝", "黑色", "meaning_of_other_kind"),
            (Counter, "扎", "0", "bad_count"),
            (Counter, "扎", "1001", "bad_count"),
            (Counter, "扎", "a few", "bad_count"),
        ] {
            let got = problem(kind, word, meaning);
            assert_eq!(
                got.as_ref().map(SynonymProblem::code),
                Some(code),
                "{word} → {meaning}: {got:?}"
            );
        }
        // The sentence says what the parser reads.
        let said = problem(Colour, "黑", "White").unwrap().to_string();
        assert!(said.contains("black"), "{said}");
    }

    #[test]
    fn a_repeated_word_names_the_first_row() {
        let rows = [
            row(Colour, "酒紅", "Burgundy"),
            row(Size, "童裝", "Kids"),
            row(Colour, "酒紅色", "Wine"),
            row(Counter, "童裝", "1"),
        ];
        let got = check(&rows, &[]);
        assert_eq!(
            got,
            vec![
                RowProblem {
                    row: 2,
                    problem: SynonymProblem::Repeated(0)
                },
                RowProblem {
                    row: 3,
                    problem: SynonymProblem::Repeated(1)
                },
            ]
        );
    }

    #[test]
    fn counters_mean_units_or_a_built_in_counter() {
        assert_eq!(counter_units("12"), Some(12));
        assert_eq!(counter_units(" １２ "), Some(12));
        assert_eq!(counter_units("打"), Some(12));
        assert_eq!(counter_units("Dozen"), Some(12));
        assert_eq!(counter_units("件"), Some(1));
        assert_eq!(counter_units("0"), None);
        assert_eq!(counter_units("人"), None);
    }
}
