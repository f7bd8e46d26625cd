//! Turns a normalised comment into tokens: keywords, quantities, options,
//! intent words and noise. Hand-written, one pass, no regex: every comment
//! of a live sale goes through here.

use super::catalog::{Catalog, ProductId};
use super::lexicon::{
    cjk_counter, is_cjk_money, is_word_counter, is_word_money, lexicon, option_suffix,
    word_counter, Lex, Lexicon, OptionKind,
};
use super::numerals::{is_numeral, scan_ascii, scan_chinese, Amount};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QtyForm {
    /// `+2`, `加2`
    Plus,
    /// `-1`: a cancel of that many.
    Minus,
    /// `x2`, `*2`, `×2`
    Times,
    /// `2件`, `兩個`
    Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Qty {
    pub amount: Amount,
    pub form: QtyForm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Order,
    Cancel,
    Edit,
    AskPrice,
    AskHave,
    AskWeak,
    /// `全部`, `all`: with a cancel and no product, "cancel everything".
    All,
    /// `佢`, `他`: talk about someone else.
    OtherPerson,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Keyword(ProductId),
    /// Shaped like the catalogue's codes, but not one of them.
    UnknownCode,
    Qty(Qty),
    /// An option word; its comparison text is `start..key_end`.
    Option {
        key_end: u32,
        kind: OptionKind,
    },
    /// A number with no sign, times or counter: qty, price, or nothing?
    Bare(Amount),
    Signal(Signal),
    /// `各`, `each`: the qty after it counts for each option or product before it.
    Each,
    /// Text the parser does not know. `word` marks real words (chit-chat),
    /// as opposed to digits, mentions and the like; `cjk` lets neighbours
    /// see that they are glued inside a longer word (`紅磡`, `明白`).
    Noise {
        cjk: bool,
        word: bool,
    },
    Sep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: u32,
    pub end: u32,
}

/// Scans `s` (already normalised) into `out` (cleared first).
pub fn scan(s: &str, cat: &Catalog, out: &mut Vec<Token>) {
    out.clear();
    let mut sc = Scanner {
        s,
        b: s.as_bytes(),
        cat,
        lex: lexicon(),
        out,
        phone_next: false,
        mention_words: 0,
    };
    sc.run();
    unglue(s, out);
}

struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    cat: &'a Catalog,
    lex: &'static Lexicon,
    out: &'a mut Vec<Token>,
    /// A phone label was seen: the next digits are a phone number.
    phone_next: bool,
    /// Unknown words still to treat as part of a `@Name Surname` mention.
    mention_words: u8,
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

impl<'a> Scanner<'a> {
    fn run(&mut self) {
        let mut i = 0;
        while i < self.b.len() {
            let c = self.b[i];
            let next = if c < 0x80 {
                match c {
                    b' ' => i + 1,
                    b'\n' | b',' | b'/' | b';' | b'|' => {
                        self.push(Tok::Sep, i, i + 1);
                        i + 1
                    }
                    b'@' => self.mention(i),
                    b'$' => self.price(i + 1),
                    b'+' => self.signed(i, 1, QtyForm::Plus),
                    b'-' => self.signed(i, 1, QtyForm::Minus),
                    b'*' => self.signed(i, 1, QtyForm::Times),
                    b'=' | b':' => self.equals(i),
                    b'?' => {
                        self.push(Tok::Signal(Signal::AskWeak), i, i + 1);
                        i + 1
                    }
                    b'0'..=b'9' => self.number(i),
                    b'a'..=b'z' | b'A'..=b'Z' => self.word(i),
                    _ => i + 1,
                }
            } else {
                match self.s[i..].chars().next() {
                    Some('×') => self.signed(i, '×'.len_utf8(), QtyForm::Times),
                    Some(ch @ ('、' | '。' | '；')) => {
                        self.push(Tok::Sep, i, i + ch.len_utf8());
                        i + ch.len_utf8()
                    }
                    Some(ch) if ch.is_alphabetic() || is_numeral(ch) => self.cjk(i, ch),
                    Some(ch) => i + ch.len_utf8(),
                    None => break,
                }
            };
            // Every step must consume; a step that did not would loop forever.
            debug_assert!(next > i, "scanner stalled at byte {i} of {:?}", self.s);
            i = if next > i {
                next
            } else {
                i + self.char_at(i).map_or(1, char::len_utf8)
            };
        }
    }

    fn push(&mut self, tok: Tok, start: usize, end: usize) {
        if let Tok::Noise { cjk: true, word } = tok {
            if let Some(last) = self.out.last_mut() {
                if last.end as usize == start {
                    if let Tok::Noise { cjk: true, .. } = last.tok {
                        last.end = end as u32;
                        last.tok = Tok::Noise {
                            cjk: true,
                            word: word || matches!(last.tok, Tok::Noise { word: true, .. }),
                        };
                        return;
                    }
                }
            }
        } else if !matches!(tok, Tok::Noise { .. }) {
            self.mention_words = 0;
        }
        self.out.push(Token {
            tok,
            start: start as u32,
            end: end as u32,
        });
    }

    fn skip_spaces(&self, mut i: usize) -> usize {
        while i < self.b.len() && self.b[i] == b' ' {
            i += 1;
        }
        i
    }

    fn byte(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.s.get(i..).and_then(|r| r.chars().next())
    }

    fn alnum_end(&self, mut i: usize) -> usize {
        while i < self.b.len() && is_alnum(self.b[i]) {
            i += 1;
        }
        i
    }

    fn letters_end(&self, mut i: usize) -> usize {
        while i < self.b.len() && self.b[i].is_ascii_alphabetic() {
            i += 1;
        }
        i
    }

    /// End of a counter (`件`, ` pcs`, `打`) right after a number, if there is
    /// one, and how many units one of it is (12 for a dozen).
    fn counter_after(&self, end: usize) -> Option<(usize, u64)> {
        let j = self.skip_spaces(end);
        let c = self.char_at(j)?;
        // `5塊` is five bars of soap; `5塊錢` is five dollars.
        if self.s[j..].starts_with("塊錢") {
            return None;
        }
        // The shop's own counters first: `盒裝` must not stop at a built-in `盒`.
        if let Some((len, per)) = self.cat.counter_at(&self.s[j..]) {
            return Some((j + len, per));
        }
        if let Some(per) = cjk_counter(c) {
            return Some((j + c.len_utf8(), per));
        }
        if c.is_ascii_alphabetic() {
            let w = self.letters_end(j);
            if let Some(per) = word_counter(&self.s[j..w]) {
                if !is_alnum(self.byte(w)) {
                    return Some((w, per));
                }
            }
        }
        None
    }

    /// A qty of `amount` counters from `start` to the counter's end (or `end`).
    fn counted(&self, amount: Amount, end: usize) -> (Amount, usize) {
        match self.counter_after(end) {
            Some((cend, per)) => (times(amount, per), cend),
            None => (amount, end),
        }
    }

    /// End of a money unit (`元`, `蚊`, ` hkd`) right after a number.
    fn money_after(&self, end: usize) -> Option<usize> {
        let j = self.skip_spaces(end);
        if self.s[j..].starts_with("塊錢") {
            return Some(j + "塊錢".len());
        }
        let c = self.char_at(j)?;
        if is_cjk_money(c) {
            return Some(j + c.len_utf8());
        }
        if c.is_ascii_alphabetic() {
            let w = self.letters_end(j);
            // `55 K 08`: the start of a keyword with a space inside, not `55k`.
            if is_word_money(&self.s[j..w])
                && !is_alnum(self.byte(w))
                && self.spaced_keyword(j, w).is_none()
            {
                return Some(w);
            }
        }
        None
    }

    /// Consumes a phone number: digits, with the spaces, dashes and plus
    /// signs people put in them.
    fn phone_run(&self, mut i: usize) -> usize {
        while i < self.b.len() {
            match self.b[i] {
                b'0'..=b'9' | b'+' | b'-' => i += 1,
                b' ' if self.byte(i + 1).is_ascii_digit() => i += 1,
                _ => break,
            }
        }
        i
    }

    /// At least three more digits after one optional space or dash: the
    /// rest of a phone number (`+852 9123 4567`, `9123-4567`).
    fn digits_follow(&self, i: usize) -> bool {
        let j = if matches!(self.byte(i), b' ' | b'-') {
            i + 1
        } else {
            i
        };
        self.b
            .get(j..)
            .is_some_and(|r| r.len() >= 3 && r[..3].iter().all(u8::is_ascii_digit))
    }

    /// `@Jenny Chan`: the handle, and up to two unknown words after it.
    fn mention(&mut self, i: usize) -> usize {
        self.mention_words = 2;
        let rest = &self.s[i + 1..];
        let len = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '+' | '-' | ',' | '/' | '@' | '、' | '?')
            })
            .unwrap_or(rest.len());
        i + 1 + len
    }

    fn price(&mut self, i: usize) -> usize {
        let mut j = self.skip_spaces(i);
        while j < self.b.len() {
            match self.b[j] {
                b'0'..=b'9' => j += 1,
                b',' | b'.' if self.byte(j + 1).is_ascii_digit() => j += 1,
                _ => break,
            }
        }
        j
    }

    /// `+2`, `-1`, `x3`, `×2`, `加一件`: a sign (of `sign_len` bytes at `i`),
    /// then a number, then maybe a counter.
    fn signed(&mut self, i: usize, sign_len: usize, form: QtyForm) -> usize {
        let j = self.skip_spaces(i + sign_len);
        if self.phone_next && form == QtyForm::Plus {
            self.phone_next = false;
            return self.phone_run(i + sign_len);
        }
        if let Some((n, amount, digits)) = scan_ascii(&self.s[j..]) {
            let end = j + n;
            if form == QtyForm::Plus && (digits >= 7 || (digits >= 3 && self.digits_follow(end))) {
                return self.phone_run(i + sign_len);
            }
            let (amount, end) = self.counted(amount, end);
            self.push(Tok::Qty(Qty { amount, form }), i, end);
            return end;
        }
        if let Some((n, Some(v))) = scan_chinese(&self.s[j..]) {
            let (amount, end) = self.counted(Amount::Whole(v), j + n);
            self.push(Tok::Qty(Qty { amount, form }), i, end);
            return end;
        }
        if let Some(end) = self.half_dozen(j) {
            self.push(
                Tok::Qty(Qty {
                    amount: Amount::Whole(6),
                    form,
                }),
                i,
                end,
            );
            return end;
        }
        i + sign_len
    }

    /// `半打` (or `half dozen`, `half a dozen`) at `j`: six. Returns its end.
    fn half_dozen(&self, j: usize) -> Option<usize> {
        if self.s[j..].starts_with("半打") {
            return Some(j + "半打".len());
        }
        if self.s[j..].starts_with("half") && !is_alnum(self.byte(j + 4)) {
            let mut e = j + 4;
            if let Some(a) = self.next_word_is(e, "a") {
                e = a;
            }
            return self.next_word_is(e, "dozen");
        }
        None
    }

    /// `KW=2`, `KW: 2`, `黑 M=1`: `=` or `:` right after a keyword or an option,
    /// then a number, is its qty. A price (`=299元`) is not.
    fn equals(&mut self, i: usize) -> usize {
        let after_subject = self.out.last().is_some_and(|t| {
            matches!(
                t.tok,
                Tok::Keyword(_) | Tok::UnknownCode | Tok::Option { .. }
            ) && self.s[t.end as usize..i].bytes().all(|b| b == b' ')
        });
        if !after_subject {
            return i + 1;
        }
        let j = self.skip_spaces(i + 1);
        if let Some((n, _, _)) = scan_ascii(&self.s[j..]) {
            if let Some(mend) = self.money_after(j + n) {
                return mend;
            }
        }
        self.signed(i, 1, QtyForm::Times)
    }

    /// Longest catalogue keyword made of ASCII letters and digits at the
    /// start of `run`. A keyword may only end where the run changes between
    /// letters and digits: `A012` is not `A01`, `B30` is not `B3`, but
    /// `A01x2` and `A01m` are.
    fn ascii_keyword(&self, run: &str) -> Option<(usize, ProductId)> {
        let b = run.as_bytes();
        if b.is_empty() || b.len() > 32 {
            return None;
        }
        let mut end = b.len();
        loop {
            if let Some(id) = self.cat.exact(&run[..end]) {
                return Some((end, id));
            }
            // Step back to the previous letter/digit change.
            let digit = b[end - 1].is_ascii_digit();
            while end > 0 && b[end - 1].is_ascii_digit() == digit {
                end -= 1;
            }
            if end == 0 {
                return None;
            }
        }
    }

    /// Keywords with other characters (`茶壺`, `A-1`), with the same rule for
    /// where they may end when they end in a letter or digit.
    fn other_keyword(&self, i: usize) -> Option<(usize, ProductId)> {
        self.cat.keywords_at(&self.s[i..]).find(|&(len, _)| {
            let last = self.b[i + len - 1];
            let next = self.byte(i + len);
            !(last.is_ascii_digit() && next.is_ascii_digit()
                || last.is_ascii_alphabetic() && next.is_ascii_alphabetic())
        })
    }

    /// Pushes a keyword from `start` to `end`, and passes over the product's name
    /// when the buyer wrote it too (`K08 針織冷衫 +1`, `55號耳環`).
    fn keyword(&mut self, id: ProductId, start: usize, end: usize) -> usize {
        self.push(Tok::Keyword(id), start, end);
        let name = self.cat.name(id);
        if name.is_empty() {
            return end;
        }
        if name.len() > end - start && self.s[start..].starts_with(name) {
            return start + name.len();
        }
        let j = self.skip_spaces(end);
        if self.s[j..].starts_with(name) {
            return j + name.len();
        }
        end
    }

    /// `2 x K08`, `2x K08`, `3×T30`: the end of the times sign after a number
    /// when a keyword follows it.
    fn times_before_keyword(&self, end: usize) -> Option<usize> {
        let j = self.skip_spaces(end);
        let sign_end = match self.char_at(j)? {
            'x' | '*' => j + 1,
            '×' => j + '×'.len_utf8(),
            _ => return None,
        };
        let k = self.skip_spaces(sign_end);
        if k == sign_end && is_alnum(self.byte(k)) {
            // `2xl`, `2x3`: not a sign.
            return None;
        }
        let run_end = self.alnum_end(k);
        let is_keyword = self.ascii_keyword(&self.s[k..run_end]).is_some()
            || self.other_keyword(k).is_some()
            || self.spaced_keyword(k, run_end).is_some();
        is_keyword.then_some(sign_end)
    }

    /// `K 08`: letters, one space, digits, that together are a keyword.
    fn spaced_keyword(&self, i: usize, run_end: usize) -> Option<(usize, ProductId)> {
        let letters = &self.s[i..run_end];
        if letters.len() > 8
            || !letters.bytes().all(|b| b.is_ascii_alphabetic())
            || self.byte(run_end) != b' '
            || !self.byte(run_end + 1).is_ascii_digit()
        {
            return None;
        }
        let digits_end = self.alnum_end(run_end + 1);
        let digits = &self.s[run_end + 1..digits_end];
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 8 {
            return None;
        }
        let mut joined = String::with_capacity(letters.len() + digits.len());
        joined.push_str(letters);
        joined.push_str(digits);
        self.cat.exact(&joined).map(|id| (digits_end, id))
    }

    fn number(&mut self, i: usize) -> usize {
        if self.phone_next {
            self.phone_next = false;
            return self.phone_run(i);
        }
        let Some((n, amount, digits)) = scan_ascii(&self.s[i..]) else {
            return i + 1;
        };
        let end = i + n;
        let glued_to_word = i > 0 && self.b[i - 1].is_ascii_alphabetic();
        let run_end = self.alnum_end(i);
        if !glued_to_word && run_end > i + digits {
            // Digits then letters: `2xl`, or a keyword such as `3m`.
            let run = &self.s[i..run_end];
            if let Some((len, id)) = self.ascii_keyword(run) {
                if len > digits {
                    return self.keyword(id, i, i + len);
                }
            }
            if let Some(Lex::Option(kind)) = self.lex.word(run) {
                return self.option(i, run_end, kind);
            }
            if let Some(kind) = self.cat.option_word(run) {
                return self.option(i, run_end, kind);
            }
        }
        if glued_to_word {
            self.push(
                Tok::Noise {
                    cjk: false,
                    word: false,
                },
                i,
                end,
            );
            return end;
        }
        if self.counter_after(end).is_some() {
            let (amount, cend) = self.counted(amount, end);
            self.push(
                Tok::Qty(Qty {
                    amount,
                    form: QtyForm::Count,
                }),
                i,
                cend,
            );
            return cend;
        }
        if let Some(mend) = self.money_after(end) {
            return mend;
        }
        if digits >= 5 || (digits == 4 && self.digits_follow(end)) {
            return self.phone_run(i);
        }
        let whole = n == digits;
        // `7-11` is a shop and `3-15` a range, while `7-1` is one less of `7`.
        let range = self.byte(end) == b'-'
            && self.byte(end + 1).is_ascii_digit()
            && self.byte(end + 2).is_ascii_digit();
        if whole && !range {
            if let Some(id) = self.cat.exact(&self.s[i..end]) {
                return self.keyword(id, i, end);
            }
        }
        if whole {
            if let Some(tend) = self.times_before_keyword(end) {
                self.push(
                    Tok::Qty(Qty {
                        amount,
                        form: QtyForm::Times,
                    }),
                    i,
                    tend,
                );
                return tend;
            }
        }
        // `7號`: a product by number, and not one of ours.
        if whole && self.char_at(end) == Some('號') {
            self.push(Tok::UnknownCode, i, end + '號'.len_utf8());
            return end + '號'.len_utf8();
        }
        // Dates, times and ranges: 12/25, 3:30, 7-11.
        if matches!(self.byte(end), b'/' | b':' | b'-' | b'.')
            && self.byte(end + 1).is_ascii_digit()
        {
            let mut j = end;
            while matches!(self.byte(j), b'/' | b':' | b'-' | b'.' | b'0'..=b'9') {
                j += 1;
            }
            return j;
        }
        self.push(Tok::Bare(amount), i, end);
        end
    }

    /// An option word from `start` to `key_end`, plus a `色`/`碼` suffix.
    fn option(&mut self, start: usize, key_end: usize, kind: OptionKind) -> usize {
        let end = match self.char_at(key_end) {
            Some(c) if option_suffix(c) => key_end + c.len_utf8(),
            _ => key_end,
        };
        self.push(
            Tok::Option {
                key_end: key_end as u32,
                kind,
            },
            start,
            end,
        );
        end
    }

    fn next_word_is(&self, i: usize, w: &str) -> Option<usize> {
        let j = self.skip_spaces(i);
        let e = self.letters_end(j);
        (j > i && &self.s[j..e] == w).then_some(e)
    }

    fn word(&mut self, i: usize) -> usize {
        let run_end = self.alnum_end(i);
        let run = &self.s[i..run_end];
        if let Some((len, id)) = self.ascii_keyword(run) {
            return self.keyword(id, i, i + len);
        }
        if let Some((len, id)) = self.other_keyword(i) {
            return self.keyword(id, i, i + len);
        }
        if let Some((end, id)) = self.spaced_keyword(i, run_end) {
            return self.keyword(id, i, end);
        }
        let rb = run.as_bytes();
        if rb[0] == b'x' {
            let times = if rb.len() > 1 {
                rb[1].is_ascii_digit()
            } else {
                self.char_at(self.skip_spaces(i + 1))
                    .is_some_and(|c| c.is_ascii_digit() || is_numeral(c))
            };
            if times {
                return self.signed(i, 1, QtyForm::Times);
            }
        }
        let letters = rb.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let digits = rb[letters..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 && digits <= 5 && self.cat.is_code_prefix_len(letters) {
            self.push(Tok::UnknownCode, i, i + letters + digits);
            return i + letters + digits;
        }

        let mut wend = i + letters;
        while self.byte(wend) == b'\'' && self.byte(wend + 1).is_ascii_alphabetic() {
            wend = self.letters_end(wend + 1);
        }
        let w = &self.s[i..wend];
        match w {
            "how" => {
                if let Some(e) = self.next_word_is(wend, "much") {
                    self.push(Tok::Signal(Signal::AskPrice), i, e);
                    return e;
                }
            }
            "sold" => {
                if let Some(e) = self.next_word_is(wend, "out") {
                    self.push(Tok::Signal(Signal::AskPrice), i, e);
                    return e;
                }
            }
            "free" => {
                if let Some(e) = self.next_word_is(wend, "size") {
                    return self.option(i, e, OptionKind::Size);
                }
            }
            "half" => {
                if let Some(e) = self.half_dozen(i) {
                    self.push(
                        Tok::Qty(Qty {
                            amount: Amount::Whole(6),
                            form: QtyForm::Count,
                        }),
                        i,
                        e,
                    );
                    return e;
                }
            }
            // `a dozen`, or `dozen` alone: twelve (`2 dozen` is read with the number).
            "dozen" => {
                self.push(
                    Tok::Qty(Qty {
                        amount: Amount::Whole(12),
                        form: QtyForm::Count,
                    }),
                    i,
                    wend,
                );
                return wend;
            }
            _ => {}
        }
        if let Some(v) = english_number(w) {
            return self.number_word(i, wend, v);
        }
        let lex = match self.lex.word(w) {
            Some(Lex::Option(kind)) => return self.option(i, wend, kind),
            lex => lex,
        };
        if let Some(kind) = self.cat.option_word(w) {
            return self.option(i, wend, kind);
        }
        match lex {
            Some(lex) => {
                self.lexeme(lex, i, wend);
                wend
            }
            None => {
                if matches!(self.char_at(wend), Some('碼')) {
                    return self.option(i, wend, OptionKind::Size);
                }
                let word = if self.mention_words > 0 {
                    self.mention_words -= 1;
                    false
                } else {
                    !is_word_counter(w) && !is_word_money(w) && !self.cat.is_word_counter(w)
                };
                self.push(Tok::Noise { cjk: false, word }, i, wend);
                wend
            }
        }
    }

    /// Intent words, fillers and labels (everything but options).
    fn lexeme(&mut self, lex: Lex, start: usize, end: usize) {
        let sig = match lex {
            Lex::Order => Signal::Order,
            Lex::Cancel => Signal::Cancel,
            Lex::Edit => Signal::Edit,
            Lex::AskPrice => Signal::AskPrice,
            Lex::AskHave => Signal::AskHave,
            Lex::AskWeak => Signal::AskWeak,
            Lex::All => Signal::All,
            Lex::OtherPerson => Signal::OtherPerson,
            Lex::Each => {
                self.push(Tok::Each, start, end);
                return;
            }
            Lex::PhoneLabel => {
                self.phone_next = true;
                return;
            }
            Lex::Filler | Lex::PlusWord | Lex::MinusWord | Lex::Option(_) => return,
        };
        self.push(Tok::Signal(sig), start, end);
    }

    fn cjk(&mut self, i: usize, ch: char) -> usize {
        let rest = &self.s[i..];
        let kw = self.other_keyword(i);
        let lex = self.lex.longest_cjk(rest);
        let opt = self.cat.option_at(rest);
        let lex_len = lex.map_or(0, |(l, _)| l);
        let opt_len = opt.map_or(0, |(l, _)| l);

        if let Some((len, id)) = kw {
            if len >= lex_len && len >= opt_len {
                return self.keyword(id, i, i + len);
            }
        }
        if ch == '半' {
            if let Some(end) = self.half_dozen(i) {
                self.push(
                    Tok::Qty(Qty {
                        amount: Amount::Whole(6),
                        form: QtyForm::Count,
                    }),
                    i,
                    end,
                );
                return end;
            }
        }
        if is_numeral(ch) {
            if let Some((n, value)) = scan_chinese(rest) {
                if n >= lex_len && n >= opt_len {
                    return self.chinese_number(i, n, value);
                }
            }
        }
        if opt_len > 0 && opt_len >= lex_len {
            let kind = match (opt, lex) {
                // The shop's word says its kind; a catalogue spelling takes the lexicon's.
                (Some((_, k)), _) if k != OptionKind::Other => k,
                (_, Some((l, Lex::Option(k)))) if l == opt_len => k,
                _ => OptionKind::Other,
            };
            return self.option(i, i + opt_len, kind);
        }
        if let Some((len, lex)) = lex {
            let end = i + len;
            return match lex {
                Lex::Option(kind) => self.option(i, end, kind),
                Lex::PlusWord | Lex::MinusWord => {
                    let j = self.skip_spaces(end);
                    let next = self.char_at(j);
                    let form = if lex == Lex::PlusWord {
                        QtyForm::Plus
                    } else {
                        QtyForm::Minus
                    };
                    if next.is_some_and(|c| c.is_ascii_digit() || is_numeral(c) || c == '半') {
                        self.signed(i, len, form)
                    } else {
                        end
                    }
                }
                _ => {
                    self.lexeme(lex, i, end);
                    end
                }
            };
        }
        let end = i + ch.len_utf8();
        // Any single character named as a colour: `杏色`, `藕色`.
        if self.char_at(end) == Some('色') && !option_suffix(ch) {
            return self.option(i, end, OptionKind::Colour);
        }
        self.push(
            Tok::Noise {
                cjk: true,
                word: true,
            },
            i,
            end,
        );
        end
    }

    fn chinese_number(&mut self, i: usize, n: usize, value: Option<u64>) -> usize {
        let end = i + n;
        let Some(v) = value else {
            self.push(
                Tok::Noise {
                    cjk: true,
                    word: true,
                },
                i,
                end,
            );
            return end;
        };
        self.number_word(i, end, v)
    }

    /// A number written as a word (`兩`, `two`): a qty with a counter,
    /// otherwise a bare number.
    fn number_word(&mut self, i: usize, end: usize, v: u64) -> usize {
        if self.counter_after(end).is_some() {
            let (amount, cend) = self.counted(Amount::Whole(v), end);
            self.push(
                Tok::Qty(Qty {
                    amount,
                    form: QtyForm::Count,
                }),
                i,
                cend,
            );
            return cend;
        }
        if let Some(mend) = self.money_after(end) {
            return mend;
        }
        self.push(Tok::Bare(Amount::Whole(v)), i, end);
        end
    }
}

/// `amount` counters of `per` units each.
fn times(amount: Amount, per: u64) -> Amount {
    match amount {
        Amount::Whole(n) => Amount::Whole(n.saturating_mul(per)),
        Amount::Fraction => Amount::Fraction,
    }
}

pub(super) fn english_number(w: &str) -> Option<u64> {
    Some(match w {
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        _ => return None,
    })
}

/// A word the lexicon knows can sit inside a longer word it does not:
/// `紅` in `紅磡`, `白` in `明白`, `3` in `3樓`, `3個` in `3個月`. Such
/// tokens are noise, not options or quantities.
fn unglue(s: &str, toks: &mut [Token]) {
    let non_ascii_start = |t: &Token| {
        s.as_bytes()
            .get(t.start as usize)
            .is_some_and(|b| *b >= 0x80)
    };
    let mut keyword_before = false;
    for k in 0..toks.len() {
        let is_cjk_noise = |t: &Token| matches!(t.tok, Tok::Noise { cjk: true, .. });
        let t = toks[k];
        let left = k > 0 && toks[k - 1].end == t.start && is_cjk_noise(&toks[k - 1]);
        let right = k + 1 < toks.len() && toks[k + 1].start == t.end && is_cjk_noise(&toks[k + 1]);
        let glued = match t.tok {
            Tok::Option { .. } => (left || right) && non_ascii_start(&t),
            // `杯子` is not the keyword `杯`; a longer keyword (`牛角包好好味`)
            // is still named.
            Tok::Keyword(_) => {
                right
                    && non_ascii_start(&t)
                    && s[t.start as usize..t.end as usize].chars().count() == 1
            }
            Tok::Bare(_) => left || right,
            // `3個月` is a time, `D50 三條褲` still a qty.
            Tok::Qty(Qty {
                form: QtyForm::Count,
                ..
            }) => right && !keyword_before,
            _ => false,
        };
        if glued {
            toks[k].tok = Tok::Noise {
                cjk: true,
                word: !matches!(t.tok, Tok::Bare(_)),
            };
        }
        keyword_before |= matches!(toks[k].tok, Tok::Keyword(_));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::normalise::normalise;
    use crate::parse::types::Product;

    fn kinds(text: &str) -> Vec<Tok> {
        let cat = Catalog::new(vec![Product {
            keyword: "A01".into(),
            name: String::new(),
            price: 0,
            variants: vec![],
        }]);
        let n = normalise(text);
        let mut out = Vec::new();
        scan(&n, &cat, &mut out);
        out.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn phone_label_before_a_plus_word_does_not_stall() {
        assert!(kinds("電話加1").is_empty());
        assert!(kinds("加85291234567").is_empty());
    }

    #[test]
    fn codes_end_at_a_letter_digit_change() {
        assert_eq!(kinds("A012"), vec![Tok::UnknownCode]);
        assert!(matches!(kinds("A01x2")[..], [Tok::Keyword(_), Tok::Qty(_)]));
    }

    #[test]
    fn glued_words_are_noise() {
        assert!(kinds("紅磡")
            .iter()
            .all(|t| matches!(t, Tok::Noise { cjk: true, .. })));
        assert!(matches!(
            kinds("3樓")[..],
            [Tok::Noise { .. }, Tok::Noise { .. }]
        ));
    }
}
