//! The fixed vocabulary of live-sale comments: intent words, option words,
//! counters and fillers, in Cantonese, Mandarin (Traditional after
//! normalising) and English. Entries are in normalised form (lower case).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The kind of option a word names. Two options of one kind on one line is
/// ambiguous (`黑 白`), while a colour and a size (`黑 M`) is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    Colour,
    Size,
    /// Only known because the catalogue lists it.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lex {
    /// "I want / sold": an order of 1 unless a qty is given.
    Order,
    Cancel,
    Edit,
    /// Price or stock questions: clear enough to be about the current product.
    AskPrice,
    /// "Do you have": a question when it names a product or an option.
    AskHave,
    /// `嗎`, `?`, `when`: a question only when a product is named.
    AskWeak,
    /// Carries nothing, and does not make a comment chit-chat either.
    Filler,
    /// Digits after it are a phone number.
    PhoneLabel,
    /// `加` / `加多`: a plus sign when a number follows.
    PlusWord,
    /// `減`: a minus sign when a number follows.
    MinusWord,
    /// `全部`, `所有`, `all`: with a cancel word and no product, "cancel everything".
    All,
    /// `各`, `each`: the qty after it is for each option or product listed before it.
    Each,
    /// `佢`, `他`: someone else; an order word may be theirs, not the buyer's.
    OtherPerson,
    Option(OptionKind),
}

const CJK: &[(&str, Lex)] = &[
    // Orders.
    ("要", Lex::Order),
    ("想要", Lex::Order),
    ("需要", Lex::Order),
    ("訂", Lex::Order),
    ("預訂", Lex::Order),
    ("買", Lex::Order),
    ("落單", Lex::Order),
    ("下單", Lex::Order),
    ("喊單", Lex::Order),
    ("下標", Lex::Order),
    ("加", Lex::PlusWord),
    ("加多", Lex::PlusWord),
    ("減", Lex::MinusWord),
    ("減多", Lex::MinusWord),
    // Cancels. `唔要` must outrank `要`: longest match does it.
    ("取消", Lex::Cancel),
    ("唔要", Lex::Cancel),
    ("不要", Lex::Cancel),
    ("冇要", Lex::Cancel),
    ("刪除", Lex::Cancel),
    ("刪", Lex::Cancel),
    ("退單", Lex::Cancel),
    ("撤銷", Lex::Cancel),
    ("唔使", Lex::Cancel),
    ("不用", Lex::Cancel),
    // Giving up a product is cancelling it.
    ("放棄", Lex::Cancel),
    ("棄單", Lex::Cancel),
    ("全部", Lex::All),
    ("所有", Lex::All),
    ("晒", Lex::All),
    ("各", Lex::Each),
    ("其他", Lex::Filler),
    ("佢", Lex::OtherPerson),
    ("佢哋", Lex::OtherPerson),
    ("他", Lex::OtherPerson),
    ("她", Lex::OtherPerson),
    ("他們", Lex::OtherPerson),
    ("她們", Lex::OtherPerson),
    // Edits go to a person: which line, which qty, is rarely clear.
    ("改", Lex::Edit),
    ("換", Lex::Edit),
    // Price and stock questions.
    ("幾錢", Lex::AskPrice),
    ("幾多錢", Lex::AskPrice),
    ("多少錢", Lex::AskPrice),
    ("價錢", Lex::AskPrice),
    ("價格", Lex::AskPrice),
    ("咩價", Lex::AskPrice),
    ("幾多", Lex::AskPrice),
    ("多少", Lex::AskPrice),
    ("還有", Lex::AskPrice),
    ("還有嗎", Lex::AskPrice),
    ("還有沒有", Lex::AskPrice),
    ("仲有", Lex::AskPrice),
    ("仲有冇", Lex::AskPrice),
    ("仲有嗎", Lex::AskPrice),
    ("有貨", Lex::AskPrice),
    ("有冇貨", Lex::AskPrice),
    ("有沒有貨", Lex::AskPrice),
    ("冇貨", Lex::AskPrice),
    ("沒貨", Lex::AskPrice),
    ("無貨", Lex::AskPrice),
    ("售罄", Lex::AskPrice),
    ("賣晒", Lex::AskPrice),
    ("賣完", Lex::AskPrice),
    ("仲剩", Lex::AskPrice),
    ("還剩", Lex::AskPrice),
    ("尺寸", Lex::AskPrice),
    ("幾大", Lex::AskPrice),
    ("幾長", Lex::AskPrice),
    ("咩色", Lex::AskPrice),
    ("咩顏色", Lex::AskPrice),
    ("什麼顏色", Lex::AskPrice),
    ("甚麼顏色", Lex::AskPrice),
    ("有咩色", Lex::AskPrice),
    ("有咩顏色", Lex::AskPrice),
    // "Do you have".
    ("有冇", Lex::AskHave),
    ("有沒有", Lex::AskHave),
    ("有無", Lex::AskHave),
    ("有嗎", Lex::AskHave),
    ("係咪", Lex::AskHave),
    ("是否", Lex::AskHave),
    // Weak question marks.
    ("嗎", Lex::AskWeak),
    ("咩", Lex::AskWeak),
    ("嘛", Lex::AskWeak),
    ("幾時", Lex::AskWeak),
    ("什麼", Lex::AskWeak),
    ("甚麼", Lex::AskWeak),
    ("點", Lex::AskWeak),
    // Fillers.
    ("我", Lex::Filler),
    ("都", Lex::Filler),
    ("也", Lex::Filler),
    ("我都", Lex::Filler),
    ("我也", Lex::Filler),
    ("呀", Lex::Filler),
    ("啊", Lex::Filler),
    ("啦", Lex::Filler),
    ("喇", Lex::Filler),
    ("囉", Lex::Filler),
    ("咗", Lex::Filler),
    ("了", Lex::Filler),
    ("吖", Lex::Filler),
    ("喔", Lex::Filler),
    ("哦", Lex::Filler),
    ("嘅", Lex::Filler),
    ("的", Lex::Filler),
    ("唔該", Lex::Filler),
    ("唔該晒", Lex::Filler),
    ("謝晒", Lex::Filler),
    ("多謝晒", Lex::Filler),
    ("感謝", Lex::Filler),
    ("謝謝", Lex::Filler),
    ("多謝", Lex::Filler),
    ("麻煩", Lex::Filler),
    ("請", Lex::Filler),
    ("先", Lex::Filler),
    ("再", Lex::Filler),
    ("多", Lex::Filler),
    ("同", Lex::Filler),
    ("和", Lex::Filler),
    ("及", Lex::Filler),
    ("跟", Lex::Filler),
    ("感恩", Lex::Filler),
    ("就好", Lex::Filler),
    ("俾", Lex::Filler),
    ("畀", Lex::Filler),
    ("給", Lex::Filler),
    ("號", Lex::Filler),
    ("呢個", Lex::Filler),
    ("呢件", Lex::Filler),
    ("呢款", Lex::Filler),
    ("這個", Lex::Filler),
    ("這件", Lex::Filler),
    ("這款", Lex::Filler),
    ("顏色", Lex::Filler),
    ("碼數", Lex::Filler),
    ("電話", Lex::PhoneLabel),
    ("手機", Lex::PhoneLabel),
    ("聯絡", Lex::PhoneLabel),
];

const WORDS: &[(&str, Lex)] = &[
    ("sold", Lex::Order),
    ("want", Lex::Order),
    ("wan", Lex::Order),
    ("order", Lex::Order),
    ("buy", Lex::Order),
    ("take", Lex::Order),
    ("need", Lex::Order),
    ("claim", Lex::Order),
    ("claimed", Lex::Order),
    ("mine", Lex::Order),
    ("orders", Lex::Order),
    ("cancel", Lex::Cancel),
    ("cancelled", Lex::Cancel),
    ("canceled", Lex::Cancel),
    ("cancle", Lex::Cancel),
    ("cxl", Lex::Cancel),
    ("delete", Lex::Cancel),
    ("del", Lex::Cancel),
    ("remove", Lex::Cancel),
    ("pass", Lex::Cancel),
    ("skip", Lex::Cancel),
    ("change", Lex::Edit),
    ("edit", Lex::Edit),
    ("modify", Lex::Edit),
    ("instead", Lex::Edit),
    ("swap", Lex::Edit),
    ("price", Lex::AskPrice),
    ("cost", Lex::AskPrice),
    ("stock", Lex::AskPrice),
    ("available", Lex::AskPrice),
    ("avail", Lex::AskPrice),
    ("soldout", Lex::AskPrice),
    ("any", Lex::AskHave),
    ("have", Lex::AskHave),
    ("what", Lex::AskWeak),
    ("when", Lex::AskWeak),
    ("how", Lex::AskWeak),
    ("where", Lex::AskWeak),
    ("which", Lex::AskWeak),
    ("i", Lex::Filler),
    ("me", Lex::Filler),
    ("too", Lex::Filler),
    ("also", Lex::Filler),
    ("pls", Lex::Filler),
    ("plz", Lex::Filler),
    ("please", Lex::Filler),
    ("thx", Lex::Filler),
    ("thanks", Lex::Filler),
    ("thank", Lex::Filler),
    ("you", Lex::Filler),
    ("ty", Lex::Filler),
    ("the", Lex::Filler),
    ("a", Lex::Filler),
    ("and", Lex::Filler),
    ("ok", Lex::Filler),
    ("size", Lex::Filler),
    ("color", Lex::Filler),
    ("colour", Lex::Filler),
    ("hk", Lex::Filler),
    ("hkd", Lex::Filler),
    ("nt", Lex::Filler),
    ("ntd", Lex::Filler),
    ("more", Lex::Filler),
    ("my", Lex::Filler),
    ("all", Lex::All),
    ("everything", Lex::All),
    ("each", Lex::Each),
    ("tel", Lex::PhoneLabel),
    ("phone", Lex::PhoneLabel),
    ("mobile", Lex::PhoneLabel),
    ("whatsapp", Lex::PhoneLabel),
    ("wts", Lex::PhoneLabel),
    ("wa", Lex::PhoneLabel),
    ("ph", Lex::PhoneLabel),
    ("contact", Lex::PhoneLabel),
];

/// The option table (`options.txt`): groups of spellings that mean one colour or size.
const OPTIONS: &str = include_str!("options.txt");

/// `(spelling, kind, group)` for every spelling of the option table.
fn option_entries() -> impl Iterator<Item = (&'static str, OptionKind, u16)> {
    OPTIONS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .flat_map(|(group, line)| {
            let (kind, words) = line.split_once(':').unwrap_or(("", line));
            let kind = match kind.trim() {
                "colour" => OptionKind::Colour,
                "size" => OptionKind::Size,
                _ => OptionKind::Other,
            };
            words
                .split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(move |w| (w, kind, group as u16))
        })
}

/// The group of an option spelling (compared without `色`/`碼`/`號`): two spellings
/// with one group are one option (`black` and `黑`, `細` and `s`), a translation,
/// not a guess.
pub fn option_group(key: &str) -> Option<u16> {
    lexicon().option_groups.get(key).map(|&(group, _)| group)
}

/// The kind of a group of the option table, and its first spelling (`black`, `s`), by
/// which a person knows it.
pub fn option_group_of(key: &str) -> Option<(u16, OptionKind, &'static str)> {
    let l = lexicon();
    let &(group, kind) = l.option_groups.get(key)?;
    Some((group, kind, l.group_names.get(group as usize).copied()?))
}

/// What a counter counts. The kind only documents the table; every counter makes
/// the number before it a qty, times `per` units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterKind {
    /// Single things: `件`, `個`, `隻`.
    Piece,
    /// Things that come in twos but are sold as one: `對`, `雙`, `副`.
    Pair,
    /// Boxes, packs and sets: `套`, `盒`, `包`.
    Pack,
    /// Long things: `條`, `支`.
    Long,
    /// Bottles and cans: `樽`, `瓶`, `罐`.
    Bottle,
    /// Flat things: `張`, `片`, `本`.
    Flat,
    /// Twelve: `打`.
    Dozen,
}

/// `(counter, kind, units per counter)`.
const CJK_COUNTERS: &[(char, CounterKind, u64)] = &[
    ('件', CounterKind::Piece, 1),
    ('個', CounterKind::Piece, 1),
    ('隻', CounterKind::Piece, 1),
    ('只', CounterKind::Piece, 1),
    ('份', CounterKind::Piece, 1),
    ('款', CounterKind::Piece, 1),
    ('粒', CounterKind::Piece, 1),
    ('顆', CounterKind::Piece, 1),
    ('塊', CounterKind::Piece, 1),
    ('頂', CounterKind::Piece, 1),
    ('盞', CounterKind::Piece, 1),
    ('對', CounterKind::Pair, 1),
    ('雙', CounterKind::Pair, 1),
    ('副', CounterKind::Pair, 1),
    ('套', CounterKind::Pack, 1),
    ('組', CounterKind::Pack, 1),
    ('包', CounterKind::Pack, 1),
    ('盒', CounterKind::Pack, 1),
    ('箱', CounterKind::Pack, 1),
    ('袋', CounterKind::Pack, 1),
    ('排', CounterKind::Pack, 1),
    ('卷', CounterKind::Pack, 1),
    ('條', CounterKind::Long, 1),
    ('支', CounterKind::Long, 1),
    ('枝', CounterKind::Long, 1),
    ('把', CounterKind::Long, 1),
    ('樽', CounterKind::Bottle, 1),
    ('瓶', CounterKind::Bottle, 1),
    ('罐', CounterKind::Bottle, 1),
    ('張', CounterKind::Flat, 1),
    ('片', CounterKind::Flat, 1),
    ('本', CounterKind::Flat, 1),
    ('打', CounterKind::Dozen, 12),
];

/// `(counter, kind, units per counter)`, in normalised (lower-case) form.
const WORD_COUNTERS: &[(&str, CounterKind, u64)] = &[
    ("pc", CounterKind::Piece, 1),
    ("pcs", CounterKind::Piece, 1),
    ("piece", CounterKind::Piece, 1),
    ("pieces", CounterKind::Piece, 1),
    ("unit", CounterKind::Piece, 1),
    ("units", CounterKind::Piece, 1),
    ("pair", CounterKind::Pair, 1),
    ("pairs", CounterKind::Pair, 1),
    ("set", CounterKind::Pack, 1),
    ("sets", CounterKind::Pack, 1),
    ("pack", CounterKind::Pack, 1),
    ("packs", CounterKind::Pack, 1),
    ("box", CounterKind::Pack, 1),
    ("boxes", CounterKind::Pack, 1),
    ("bottle", CounterKind::Bottle, 1),
    ("bottles", CounterKind::Bottle, 1),
    ("dozen", CounterKind::Dozen, 12),
    ("dozens", CounterKind::Dozen, 12),
    ("doz", CounterKind::Dozen, 12),
];

/// Units per counter when `c` is a counter that makes a preceding number a qty
/// (`2件`, `兩個`, `一打`).
pub fn cjk_counter(c: char) -> Option<u64> {
    CJK_COUNTERS
        .iter()
        .find(|(k, _, _)| *k == c)
        .map(|&(_, _, per)| per)
}

/// Units per counter for an English counter word (`pcs`, `dozen`).
pub fn word_counter(w: &str) -> Option<u64> {
    WORD_COUNTERS
        .iter()
        .find(|(k, _, _)| *k == w)
        .map(|&(_, _, per)| per)
}

pub fn is_word_counter(w: &str) -> bool {
    word_counter(w).is_some()
}

/// Units that make a preceding number a price, not a qty.
pub fn is_cjk_money(c: char) -> bool {
    matches!(c, '元' | '蚊' | '文' | '圓')
}

pub fn is_word_money(w: &str) -> bool {
    matches!(
        w,
        "hkd" | "ntd" | "twd" | "rmb" | "usd" | "dollar" | "dollars" | "hk" | "nt" | "k"
    )
}

/// Suffixes that only say "this is a colour / size": `黑色`, `M碼`.
pub fn option_suffix(c: char) -> bool {
    matches!(c, '色' | '碼' | '號')
}

pub struct Lexicon {
    /// Keyed by first character; each list longest first.
    cjk: HashMap<char, Vec<(&'static str, Lex)>>,
    words: HashMap<&'static str, Lex>,
    option_groups: HashMap<&'static str, (u16, OptionKind)>,
    /// By group: its first spelling.
    group_names: Vec<&'static str>,
}

impl Lexicon {
    /// The longest entry that `s` starts with, as (byte length, kind).
    pub fn longest_cjk(&self, s: &str) -> Option<(usize, Lex)> {
        let c = s.chars().next()?;
        self.cjk
            .get(&c)?
            .iter()
            .find(|(e, _)| s.starts_with(e))
            .map(|(e, l)| (e.len(), *l))
    }

    pub fn word(&self, w: &str) -> Option<Lex> {
        self.words.get(w).copied()
    }

    /// What the lexicon makes of the whole of `w` (an ASCII word, or a Chinese entry
    /// exactly as long as `w`).
    pub fn whole(&self, w: &str) -> Option<Lex> {
        if w.is_ascii() {
            return self.word(w);
        }
        self.longest_cjk(w)
            .and_then(|(len, lex)| (len == w.len()).then_some(lex))
    }
}

pub fn lexicon() -> &'static Lexicon {
    static LEX: OnceLock<Lexicon> = OnceLock::new();
    LEX.get_or_init(|| {
        let mut cjk: HashMap<char, Vec<(&'static str, Lex)>> = HashMap::new();
        for &(e, l) in CJK {
            if let Some(c) = e.chars().next() {
                cjk.entry(c).or_default().push((e, l));
            }
        }
        let mut words: HashMap<&'static str, Lex> = WORDS.iter().copied().collect();
        let mut option_groups = HashMap::new();
        let mut group_names = Vec::new();
        for (e, kind, group) in option_entries() {
            option_groups.entry(e).or_insert((group, kind));
            if group_names.len() <= group as usize {
                group_names.resize(group as usize + 1, e);
            }
            let lex = Lex::Option(kind);
            if e.is_ascii() {
                if !e.contains(' ') {
                    words.entry(e).or_insert(lex);
                }
            } else if let Some(c) = e.chars().next() {
                let list = cjk.entry(c).or_default();
                if !list.iter().any(|(x, _)| *x == e) {
                    list.push((e, lex));
                }
            }
        }
        for v in cjk.values_mut() {
            v.sort_by_key(|(e, _)| std::cmp::Reverse(e.len()));
        }
        Lexicon {
            cjk,
            words,
            option_groups,
            group_names,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::normalise::normalise;

    #[test]
    fn entries_are_already_normalised() {
        for (e, _) in CJK.iter().chain(WORDS) {
            assert_eq!(&normalise(e), e);
        }
        for (e, _, _) in option_entries() {
            assert_eq!(normalise(e), e);
            // Compared without a suffix, so the table must not carry one.
            assert_eq!(crate::parse::catalog::option_key(e), e, "{e}");
        }
    }

    #[test]
    fn option_table_is_read_as_data() {
        let l = lexicon();
        assert_eq!(option_group("black"), option_group("黑"));
        assert_eq!(option_group("navy"), option_group("海軍藍"));
        assert_eq!(option_group("s"), option_group("細"));
        assert_eq!(option_group("l"), option_group("大"));
        assert_ne!(option_group("s"), option_group("m"));
        assert_ne!(option_group("粉"), option_group("粉藍"));
        assert!(option_group("淺藍").is_some());
        assert_eq!(option_group("將軍澳"), None);
        assert_eq!(l.word("transparent"), Some(Lex::Option(OptionKind::Colour)));
        assert_eq!(l.word("small"), Some(Lex::Option(OptionKind::Size)));
        assert_eq!(
            l.longest_cjk("細碼"),
            Some((3, Lex::Option(OptionKind::Size)))
        );
        assert_eq!(
            l.longest_cjk("海軍藍色"),
            Some((9, Lex::Option(OptionKind::Colour)))
        );
        // Every spelling stands in one group only.
        let mut seen = std::collections::HashSet::new();
        for (e, _, _) in option_entries() {
            assert!(seen.insert(e), "{e} is in two groups");
        }
    }

    #[test]
    fn counters_by_meaning() {
        assert_eq!(cjk_counter('件'), Some(1));
        assert_eq!(cjk_counter('對'), Some(1));
        assert_eq!(cjk_counter('打'), Some(12));
        assert_eq!(cjk_counter('人'), None);
        assert_eq!(word_counter("dozen"), Some(12));
        assert_eq!(word_counter("pcs"), Some(1));
        assert_eq!(word_counter("people"), None);
        for (c, kind, per) in CJK_COUNTERS {
            assert_eq!(*per == 12, *kind == CounterKind::Dozen, "{c}");
        }
    }

    #[test]
    fn longest_match_wins() {
        let l = lexicon();
        assert_eq!(l.longest_cjk("仲有冇M"), Some((9, Lex::AskPrice)));
        assert_eq!(l.longest_cjk("唔要喇"), Some((6, Lex::Cancel)));
        assert_eq!(l.longest_cjk("要A01"), Some((3, Lex::Order)));
        assert_eq!(
            l.longest_cjk("粉紅色"),
            Some((6, Lex::Option(OptionKind::Colour)))
        );
        assert_eq!(l.longest_cjk("唔要晒"), Some((6, Lex::Cancel)));
        assert_eq!(l.longest_cjk("晒"), Some((3, Lex::All)));
        assert_eq!(l.longest_cjk("減1"), Some((3, Lex::MinusWord)));
        assert_eq!(l.longest_cjk("將軍澳"), None);
    }
}
