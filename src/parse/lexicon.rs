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
    ("全部", Lex::Filler),
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
    ("各", Lex::Filler),
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
    // Colours.
    ("黑", Lex::Option(OptionKind::Colour)),
    ("白", Lex::Option(OptionKind::Colour)),
    ("紅", Lex::Option(OptionKind::Colour)),
    ("藍", Lex::Option(OptionKind::Colour)),
    ("綠", Lex::Option(OptionKind::Colour)),
    ("黃", Lex::Option(OptionKind::Colour)),
    ("粉", Lex::Option(OptionKind::Colour)),
    ("灰", Lex::Option(OptionKind::Colour)),
    ("橙", Lex::Option(OptionKind::Colour)),
    ("紫", Lex::Option(OptionKind::Colour)),
    ("啡", Lex::Option(OptionKind::Colour)),
    ("金", Lex::Option(OptionKind::Colour)),
    ("銀", Lex::Option(OptionKind::Colour)),
    ("米", Lex::Option(OptionKind::Colour)),
    ("杏", Lex::Option(OptionKind::Colour)),
    ("青", Lex::Option(OptionKind::Colour)),
    ("棕", Lex::Option(OptionKind::Colour)),
    ("咖啡", Lex::Option(OptionKind::Colour)),
    ("卡其", Lex::Option(OptionKind::Colour)),
    ("深藍", Lex::Option(OptionKind::Colour)),
    ("淺藍", Lex::Option(OptionKind::Colour)),
    ("天藍", Lex::Option(OptionKind::Colour)),
    ("寶藍", Lex::Option(OptionKind::Colour)),
    ("海軍藍", Lex::Option(OptionKind::Colour)),
    ("粉紅", Lex::Option(OptionKind::Colour)),
    ("粉藍", Lex::Option(OptionKind::Colour)),
    ("粉綠", Lex::Option(OptionKind::Colour)),
    ("酒紅", Lex::Option(OptionKind::Colour)),
    ("軍綠", Lex::Option(OptionKind::Colour)),
    ("墨綠", Lex::Option(OptionKind::Colour)),
    ("淺綠", Lex::Option(OptionKind::Colour)),
    ("米白", Lex::Option(OptionKind::Colour)),
    ("奶白", Lex::Option(OptionKind::Colour)),
    ("淺灰", Lex::Option(OptionKind::Colour)),
    ("深灰", Lex::Option(OptionKind::Colour)),
    ("玫瑰金", Lex::Option(OptionKind::Colour)),
    ("透明", Lex::Option(OptionKind::Colour)),
    // Sizes said in Chinese only count with 碼.
    ("細碼", Lex::Option(OptionKind::Size)),
    ("中碼", Lex::Option(OptionKind::Size)),
    ("大碼", Lex::Option(OptionKind::Size)),
    ("均碼", Lex::Option(OptionKind::Size)),
    ("加大碼", Lex::Option(OptionKind::Size)),
    ("特大碼", Lex::Option(OptionKind::Size)),
];

const WORDS: &[(&str, Lex)] = &[
    ("sold", Lex::Order),
    ("want", Lex::Order),
    ("wan", Lex::Order),
    ("order", Lex::Order),
    ("buy", Lex::Order),
    ("take", Lex::Order),
    ("need", Lex::Order),
    ("cancel", Lex::Cancel),
    ("cancelled", Lex::Cancel),
    ("canceled", Lex::Cancel),
    ("cancle", Lex::Cancel),
    ("cxl", Lex::Cancel),
    ("delete", Lex::Cancel),
    ("del", Lex::Cancel),
    ("remove", Lex::Cancel),
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
    ("all", Lex::Filler),
    ("tel", Lex::PhoneLabel),
    ("phone", Lex::PhoneLabel),
    ("mobile", Lex::PhoneLabel),
    ("whatsapp", Lex::PhoneLabel),
    ("wts", Lex::PhoneLabel),
    ("wa", Lex::PhoneLabel),
    ("ph", Lex::PhoneLabel),
    ("contact", Lex::PhoneLabel),
    ("xs", Lex::Option(OptionKind::Size)),
    ("s", Lex::Option(OptionKind::Size)),
    ("m", Lex::Option(OptionKind::Size)),
    ("l", Lex::Option(OptionKind::Size)),
    ("xl", Lex::Option(OptionKind::Size)),
    ("xxl", Lex::Option(OptionKind::Size)),
    ("xxxl", Lex::Option(OptionKind::Size)),
    ("2xl", Lex::Option(OptionKind::Size)),
    ("3xl", Lex::Option(OptionKind::Size)),
    ("4xl", Lex::Option(OptionKind::Size)),
    ("5xl", Lex::Option(OptionKind::Size)),
    ("f", Lex::Option(OptionKind::Size)),
    ("free", Lex::Option(OptionKind::Size)),
    ("black", Lex::Option(OptionKind::Colour)),
    ("white", Lex::Option(OptionKind::Colour)),
    ("red", Lex::Option(OptionKind::Colour)),
    ("blue", Lex::Option(OptionKind::Colour)),
    ("green", Lex::Option(OptionKind::Colour)),
    ("yellow", Lex::Option(OptionKind::Colour)),
    ("pink", Lex::Option(OptionKind::Colour)),
    ("grey", Lex::Option(OptionKind::Colour)),
    ("gray", Lex::Option(OptionKind::Colour)),
    ("orange", Lex::Option(OptionKind::Colour)),
    ("purple", Lex::Option(OptionKind::Colour)),
    ("brown", Lex::Option(OptionKind::Colour)),
    ("beige", Lex::Option(OptionKind::Colour)),
    ("navy", Lex::Option(OptionKind::Colour)),
    ("khaki", Lex::Option(OptionKind::Colour)),
    ("gold", Lex::Option(OptionKind::Colour)),
    ("silver", Lex::Option(OptionKind::Colour)),
    ("cream", Lex::Option(OptionKind::Colour)),
];

/// The same colour in English and in Chinese, so `black` finds `黑` and
/// `黑` finds `Black`: a translation, not a guess.
pub fn colour_alias(key: &str) -> Option<&'static str> {
    const PAIRS: &[(&str, &str)] = &[
        ("black", "黑"),
        ("white", "白"),
        ("red", "紅"),
        ("blue", "藍"),
        ("green", "綠"),
        ("yellow", "黃"),
        ("pink", "粉"),
        ("grey", "灰"),
        ("gray", "灰"),
        ("orange", "橙"),
        ("purple", "紫"),
        ("brown", "啡"),
        ("gold", "金"),
        ("silver", "銀"),
        ("khaki", "卡其"),
    ];
    PAIRS.iter().find_map(|&(en, zh)| {
        if key == en {
            Some(zh)
        } else if key == zh {
            Some(en)
        } else {
            None
        }
    })
}

/// Counters that make a preceding number a quantity (`2件`, `兩個`).
pub fn is_cjk_counter(c: char) -> bool {
    matches!(
        c,
        '件' | '個'
            | '對'
            | '條'
            | '隻'
            | '只'
            | '套'
            | '包'
            | '份'
            | '支'
            | '枝'
            | '盒'
            | '樽'
            | '罐'
            | '瓶'
            | '張'
            | '本'
            | '把'
            | '雙'
            | '組'
            | '粒'
            | '片'
            | '排'
            | '箱'
            | '袋'
            | '副'
            | '款'
            | '頂'
            | '卷'
            | '盞'
            | '塊'
    )
}

pub fn is_word_counter(w: &str) -> bool {
    matches!(
        w,
        "pc" | "pcs"
            | "piece"
            | "pieces"
            | "set"
            | "sets"
            | "pair"
            | "pairs"
            | "unit"
            | "units"
            | "pack"
            | "packs"
            | "box"
            | "boxes"
            | "bottle"
            | "bottles"
    )
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
    matches!(c, '色' | '碼')
}

pub struct Lexicon {
    /// Keyed by first character; each list longest first.
    cjk: HashMap<char, Vec<(&'static str, Lex)>>,
    words: HashMap<&'static str, Lex>,
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
        for v in cjk.values_mut() {
            v.sort_by_key(|(e, _)| std::cmp::Reverse(e.len()));
        }
        Lexicon {
            cjk,
            words: WORDS.iter().copied().collect(),
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
        assert_eq!(l.longest_cjk("將軍澳"), None);
    }
}
