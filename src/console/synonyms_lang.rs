//! The shop's words page's sentences, in zh-HK, zh-TW and en.

use serde::Serialize;

use super::lang::PageLang;

#[derive(Debug, Serialize)]
pub struct SynonymTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub kind: &'static str,
    pub word: &'static str,
    pub meaning: &'static str,
    pub colour: &'static str,
    pub size: &'static str,
    pub counter: &'static str,
    pub blank_hint: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub not_saved: &'static str,
    pub help_title: &'static str,
    pub help_option: &'static str,
    pub help_counter: &'static str,
    pub help_refused: &'static str,
    /// Row numbers as the page shows them: `{n}`.
    pub row: &'static str,
    unknown_kind: &'static str,
    empty_word: &'static str,
    empty_meaning: &'static str,
    word_too_long: &'static str,
    meaning_too_long: &'static str,
    not_one_word: &'static str,
    number: &'static str,
    repeated: &'static str,
    keyword: &'static str,
    built_in: &'static str,
    meaning_of_other_kind: &'static str,
    bad_count: &'static str,
    pub too_many: &'static str,
}

impl SynonymTexts {
    pub fn get(lang: PageLang) -> &'static SynonymTexts {
        match lang {
            PageLang::ZhHk => &ZH_HK,
            PageLang::ZhTw => &ZH_TW,
            PageLang::En => &EN,
        }
    }

    /// Why a row was refused, by the problem's code; `about` is the product code of a
    /// `keyword` problem or the page's row number of a `repeated` one.
    pub fn problem(&self, code: &str, about: &str) -> String {
        let text = match code {
            "unknown_kind" => self.unknown_kind,
            "empty_word" => self.empty_word,
            "empty_meaning" => self.empty_meaning,
            "word_too_long" => self.word_too_long,
            "meaning_too_long" => self.meaning_too_long,
            "not_one_word" => self.not_one_word,
            "number" => self.number,
            "repeated" => self.repeated,
            "keyword" => self.keyword,
            "built_in" => self.built_in,
            "meaning_of_other_kind" => self.meaning_of_other_kind,
            _ => self.bad_count,
        };
        text.replace("{about}", about)
    }

    pub fn row_label(&self, n: usize) -> String {
        self.row.replace("{n}", &n.to_string())
    }
}

const ZH_HK: SynonymTexts = SynonymTexts {
    title: "店舖用字",
    intro: "客人留言用嘅顏色、尺碼同量詞，而系統本身未識或者對唔到你貨品嘅寫法：喺度教佢。儲存之後，直播中嘅下一條留言就會用新用字，唔使重開。",
    kind: "類別",
    word: "客人寫",
    meaning: "意思",
    colour: "顏色",
    size: "尺碼",
    counter: "量詞",
    blank_hint: "清空「客人寫」同「意思」就刪除嗰行；空白行唔會儲存。",
    save: "儲存用字",
    saved: "已儲存，直播中嘅留言即時用新用字。",
    not_saved: "未儲存：有啲行要改，其他行都未有改動。",
    help_title: "點樣寫「意思」",
    help_option: "顏色同尺碼：寫貨品選項嘅寫法（例如 Burgundy、M），或者系統識嘅字（例如 red、黑）。",
    help_counter: "量詞：寫一個等於幾多件（1 至 1000），或者系統識嘅量詞（例如 件、打）。",
    help_refused: "系統本身已經有其他意思嘅字、數字、或者貨品關鍵字，都唔可以用。",
    row: "第 {n} 行",
    unknown_kind: "類別要揀顏色、尺碼或者量詞。",
    empty_word: "「客人寫」唔可以空白。",
    empty_meaning: "「意思」唔可以空白。",
    word_too_long: "「客人寫」最多 16 個字。",
    meaning_too_long: "「意思」最多 32 個字。",
    not_one_word: "「客人寫」要係一個字詞：唔可以有空格、數字或符號，亦唔可以中英夾雜。",
    number: "呢個字會被當成數字。",
    repeated: "同{about}重複。",
    keyword: "呢個字係貨品 {about} 嘅關鍵字。",
    built_in: "系統本身已經識呢個字，而且意思唔同。",
    meaning_of_other_kind: "意思係另一類選項（顏色配咗尺碼，或者尺碼配咗顏色）。",
    bad_count: "量詞嘅意思要係 1 至 1000 嘅整數，或者系統識嘅量詞（例如 件、打）。",
    too_many: "最多可以有 500 行。",
};

const ZH_TW: SynonymTexts = SynonymTexts {
    title: "商店用字",
    intro: "顧客留言用的顏色、尺寸與量詞，系統還不認識或對不到你商品的寫法：在這裡教它。儲存後，直播中的下一則留言就會使用新用字，不必重新啟動。",
    kind: "類別",
    word: "顧客寫",
    meaning: "意思",
    colour: "顏色",
    size: "尺寸",
    counter: "量詞",
    blank_hint: "清空「顧客寫」與「意思」即可刪除該列；空白列不會儲存。",
    save: "儲存用字",
    saved: "已儲存，直播中的留言立即使用新用字。",
    not_saved: "尚未儲存：有幾列需要修改，其他列也沒有變更。",
    help_title: "「意思」怎麼寫",
    help_option: "顏色與尺寸：填商品選項的寫法（例如 Burgundy、M），或系統認識的字（例如 red、黑）。",
    help_counter: "量詞：填一個等於幾件（1 至 1000），或系統認識的量詞（例如 件、打）。",
    help_refused: "系統已有其他意思的字、數字或商品關鍵字都不能使用。",
    row: "第 {n} 列",
    unknown_kind: "類別請選顏色、尺寸或量詞。",
    empty_word: "「顧客寫」不可空白。",
    empty_meaning: "「意思」不可空白。",
    word_too_long: "「顧客寫」最多 16 個字。",
    meaning_too_long: "「意思」最多 32 個字。",
    not_one_word: "「顧客寫」須為一個詞：不可有空格、數字或符號，也不可中英混合。",
    number: "這個字會被當成數字。",
    repeated: "與{about}重複。",
    keyword: "這個字是商品 {about} 的關鍵字。",
    built_in: "系統已認識這個字，而且意思不同。",
    meaning_of_other_kind: "意思是另一類選項（顏色對到尺寸，或尺寸對到顏色）。",
    bad_count: "量詞的意思須為 1 至 1000 的整數，或系統認識的量詞（例如 件、打）。",
    too_many: "最多 500 列。",
};

const EN: SynonymTexts = SynonymTexts {
    title: "Shop words",
    intro: "Colours, sizes and counters your buyers write that the parser does not know, or cannot match to your products' spelling: teach them here. Once saved, the next comment of a running live uses them, with no restart.",
    kind: "Kind",
    word: "Buyers write",
    meaning: "Meaning",
    colour: "Colour",
    size: "Size",
    counter: "Counter",
    blank_hint: "Clear a row's word and meaning to delete it; blank rows are not saved.",
    save: "Save words",
    saved: "Saved. Running lives use the new words from the next comment.",
    not_saved: "Not saved: some rows need a change, and no row was changed.",
    help_title: "What to write as the meaning",
    help_option: "Colours and sizes: the product option as you spell it (Burgundy, M), or a word the parser knows (red, 黑).",
    help_counter: "Counters: how many units one stands for (1 to 1000), or a built-in counter it counts like (件, 打).",
    help_refused: "Words the parser already reads another way, numbers and product keywords cannot be used.",
    row: "Row {n}",
    unknown_kind: "Choose colour, size or counter.",
    empty_word: "The word is empty.",
    empty_meaning: "The meaning is empty.",
    word_too_long: "The word is longer than 16 characters.",
    meaning_too_long: "The meaning is longer than 32 characters.",
    not_one_word: "The word must be one word of letters: no spaces, digits or signs, and not Latin letters mixed with Chinese.",
    number: "The word reads as a number.",
    repeated: "Same word as {about}.",
    keyword: "The word is product {about}'s keyword.",
    built_in: "The parser already knows this word, with another meaning.",
    meaning_of_other_kind: "The meaning is an option of the other kind (a colour for a size, or a size for a colour).",
    bad_count: "A counter means a whole number of units from 1 to 1000, or a built-in counter such as 件 or 打.",
    too_many: "The table may hold up to 500 rows.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_says_every_text() {
        for lang in [PageLang::ZhHk, PageLang::ZhTw, PageLang::En] {
            let t = SynonymTexts::get(lang);
            let value = serde_json::to_value(t).unwrap();
            for (key, text) in value.as_object().unwrap() {
                assert!(!text.as_str().unwrap().is_empty(), "{lang:?} {key}");
            }
            for code in [
                "unknown_kind",
                "empty_word",
                "empty_meaning",
                "word_too_long",
                "meaning_too_long",
                "not_one_word",
                "number",
                "repeated",
                "keyword",
                "built_in",
                "meaning_of_other_kind",
                "bad_count",
            ] {
                assert!(!t.problem(code, "A01").is_empty(), "{lang:?} {code}");
            }
            assert!(t.problem("keyword", "A01").contains("A01"));
            assert!(t.row_label(3).contains('3'));
        }
    }
}
