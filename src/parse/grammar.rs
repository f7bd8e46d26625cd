//! Groups tokens into lines and decides the comment's intent. Anything it
//! cannot decide becomes a review with a reason, never a guess.

use super::catalog::{option_key, Catalog, ProductId};
use super::lexicon::OptionKind;
use super::numerals::Amount;
use super::scan::{Qty, QtyForm, Signal, Tok, Token};
use super::types::{Intent, Limits, Line, Parsed, ReviewReason};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    /// Nothing named: the current product, if any.
    Current,
    Product(ProductId),
    Unknown,
}

/// A line being built: what it names, its options and its qty.
#[derive(Clone, Copy, Debug)]
struct Draft {
    subject: Subject,
    /// Options are `opts[opt_start..opt_end]`; the last draft's end is open.
    opt_start: usize,
    opt_end: usize,
    qty: Option<Qty>,
    /// How many of its options came before the qty; the ones after it may
    /// belong to the next line (`粉+1 白+1`).
    opts_before_qty: usize,
    /// A bare number sat on this line.
    bare: bool,
    /// A second qty with nothing new between (`A01+1+1`).
    repeated_qty: bool,
    /// The qty came after `各`: it is for each option listed (`黑白各一`).
    each: bool,
}

#[derive(Clone, Copy, Debug)]
struct Opt {
    start: u32,
    key_end: u32,
    kind: OptionKind,
}

#[derive(Default, Debug, Clone, Copy)]
struct Signals {
    order: bool,
    cancel: bool,
    edit: bool,
    ask_price: bool,
    ask_have: bool,
    ask_weak: bool,
    /// `全部`, `all`.
    all: bool,
    /// `佢`, `他`: someone else is talked about.
    other_person: bool,
    /// An order or cancel word stood on its own, not glued inside a longer word
    /// the lexicon does not know (`主播要加油`, `唔要走呀`).
    intent_word_alone: bool,
    unknown_code: bool,
    /// A small bare number on no line (`2`): maybe a qty with the sign left off.
    loose_bare: bool,
    /// Unknown words: a comment with any is talk, not a bare command.
    residue: u32,
}

struct Lines {
    drafts: Vec<Draft>,
    opts: Vec<Opt>,
    sig: Signals,
}

fn group(toks: &[Token]) -> Lines {
    let mut drafts: Vec<Draft> = Vec::with_capacity(4);
    let mut opts: Vec<Opt> = Vec::with_capacity(4);
    let mut sig = Signals::default();
    // A bare number before any keyword (`two A12`) belongs to the next line.
    let mut pending_bare = false;
    // `各` was said: the next qty is for each of what came before.
    let mut each = false;

    let fresh = |subject, opt_start| Draft {
        subject,
        opt_start,
        opt_end: usize::MAX,
        qty: None,
        opts_before_qty: 0,
        bare: false,
        repeated_qty: false,
        each: false,
    };

    for (k, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Keyword(_) | Tok::UnknownCode => {
                let subject = match t.tok {
                    Tok::Keyword(id) => Subject::Product(id),
                    _ => {
                        sig.unknown_code = true;
                        Subject::Unknown
                    }
                };
                match drafts.last_mut() {
                    // Options said before the keyword (`黑色 A01 +1`).
                    Some(d) if d.subject == Subject::Current && d.qty.is_none() => {
                        d.subject = subject;
                    }
                    last => {
                        if let Some(d) = last {
                            d.opt_end = opts.len();
                        }
                        let mut n = fresh(subject, opts.len());
                        n.bare = std::mem::take(&mut pending_bare);
                        drafts.push(n);
                    }
                }
            }
            Tok::Each => {
                each = true;
                if drafts.is_empty() {
                    drafts.push(fresh(Subject::Current, opts.len()));
                }
            }
            // `黑白各一`, `各1`: a number right after `各` is its qty.
            Tok::Qty(_) | Tok::Bare(Amount::Whole(_)) if each => {
                each = false;
                let q = match t.tok {
                    Tok::Qty(q) => q,
                    Tok::Bare(amount) => Qty {
                        amount,
                        form: QtyForm::Count,
                    },
                    _ => continue,
                };
                if let Some(d) = drafts.last_mut() {
                    if d.qty.is_none() {
                        d.qty = Some(q);
                        d.opts_before_qty = opts.len() - d.opt_start;
                        d.each = true;
                        continue;
                    }
                }
                // `各` after a line that has its qty: nothing to spread.
                let mut n = fresh(Subject::Current, opts.len());
                n.qty = Some(q);
                n.each = true;
                n.repeated_qty = true;
                if let Some(d) = drafts.last_mut() {
                    d.opt_end = opts.len();
                }
                drafts.push(n);
            }
            Tok::Qty(q) => match drafts.last_mut() {
                Some(d) if d.qty.is_none() => {
                    d.qty = Some(q);
                    d.opts_before_qty = opts.len() - d.opt_start;
                }
                Some(d) => {
                    let split = d.opt_start + d.opts_before_qty;
                    d.opt_end = split;
                    let subject = d.subject;
                    let mut n = fresh(subject, split);
                    n.qty = Some(q);
                    n.opts_before_qty = opts.len() - split;
                    n.repeated_qty = opts.len() == split;
                    drafts.push(n);
                }
                None => {
                    let mut n = fresh(Subject::Current, opts.len());
                    n.qty = Some(q);
                    drafts.push(n);
                }
            },
            Tok::Option { key_end, kind } => {
                if drafts.is_empty() {
                    drafts.push(fresh(Subject::Current, opts.len()));
                }
                opts.push(Opt {
                    start: t.start,
                    key_end,
                    kind,
                });
            }
            // `I want 2 D50`, `我要2`: a number right after "want" is its qty.
            Tok::Bare(amount @ Amount::Whole(_))
                if k > 0 && toks[k - 1].tok == Tok::Signal(Signal::Order) =>
            {
                let q = Qty {
                    amount,
                    form: QtyForm::Count,
                };
                let mut n = fresh(Subject::Current, opts.len());
                n.qty = Some(q);
                if let Some(d) = drafts.last_mut() {
                    if d.qty.is_none() {
                        d.qty = Some(q);
                        d.opts_before_qty = opts.len() - d.opt_start;
                        continue;
                    }
                    d.opt_end = opts.len();
                }
                drafts.push(n);
            }
            Tok::Bare(amount) => {
                // `77+1`, `A01 2+1`: a number used as a keyword.
                let signed_next = toks.get(k + 1).is_some_and(|n| {
                    n.start == t.end && matches!(n.tok, Tok::Qty(q) if q.form != QtyForm::Count)
                });
                if signed_next {
                    sig.unknown_code = true;
                } else if let Some(d) = drafts.last_mut() {
                    d.bare = true;
                } else if matches!(amount, Amount::Whole(1..=99)) {
                    sig.loose_bare = true;
                    pending_bare = true;
                }
            }
            Tok::Signal(s) => match s {
                Signal::Order | Signal::Cancel => {
                    let glued = |n: Option<&Token>, touching: bool| {
                        touching && n.is_some_and(|n| matches!(n.tok, Tok::Noise { cjk: true, .. }))
                    };
                    let prev = k.checked_sub(1).and_then(|p| toks.get(p));
                    let next = toks.get(k + 1);
                    let alone = !glued(prev, prev.is_some_and(|p| p.end == t.start))
                        && !glued(next, next.is_some_and(|n| n.start == t.end));
                    sig.intent_word_alone |= alone;
                    if s == Signal::Order {
                        sig.order = true;
                    } else {
                        sig.cancel = true;
                    }
                }
                Signal::Edit => sig.edit = true,
                Signal::AskPrice => sig.ask_price = true,
                Signal::AskHave => sig.ask_have = true,
                Signal::AskWeak => sig.ask_weak = true,
                Signal::All => sig.all = true,
                Signal::OtherPerson => sig.other_person = true,
            },
            Tok::Noise { word, .. } => sig.residue += u32::from(word),
            Tok::Sep => {}
        }
    }
    if let Some(d) = drafts.last_mut() {
        d.opt_end = opts.len();
    }

    // `K08 T30 各一`: products listed without a qty before `各` get its qty each.
    for k in (1..drafts.len()).rev() {
        if drafts[k].each && drafts[k].qty.is_some() {
            let q = drafts[k].qty;
            let mut j = k;
            while j > 0 {
                j -= 1;
                let d = &mut drafts[j];
                if d.qty.is_some() || d.bare || !matches!(d.subject, Subject::Product(_)) {
                    break;
                }
                d.qty = q;
            }
        }
    }

    // `+1 A01`, `2件 A01`: a qty said before its keyword.
    let mut k = 0;
    while k + 1 < drafts.len() {
        let (a, b) = (drafts[k], drafts[k + 1]);
        if a.subject == Subject::Current
            && a.qty.is_some()
            && !a.repeated_qty
            && matches!(b.subject, Subject::Product(_))
            && b.qty.is_none()
            && !b.bare
        {
            drafts[k + 1].qty = a.qty;
            drafts[k + 1].opt_start = a.opt_start;
            drafts.remove(k);
        } else {
            k += 1;
        }
    }

    Lines { drafts, opts, sig }
}

/// What "I want A01" orders: one, still subject to the limits.
const ONE: Qty = Qty {
    amount: Amount::Whole(1),
    form: QtyForm::Count,
};

/// Checks a qty against the limits.
fn qty_value(q: Qty, limits: &Limits) -> Result<u32, ReviewReason> {
    match q.amount {
        Amount::Fraction | Amount::Whole(0) => Err(ReviewReason::BadQty),
        Amount::Whole(n) if n > u64::from(limits.max_qty) => Err(ReviewReason::QtyOverLimit),
        Amount::Whole(n) => Ok(n as u32),
    }
}

struct Decider<'a> {
    text: &'a str,
    cat: &'a Catalog,
    current: Option<ProductId>,
    limits: &'a Limits,
    lines: Lines,
    items: Vec<Line>,
    reason: Option<ReviewReason>,
}

impl Decider<'_> {
    fn flag(&mut self, r: ReviewReason) {
        self.reason.get_or_insert(r);
    }

    fn product_of(&mut self, d: &Draft) -> Option<ProductId> {
        match d.subject {
            Subject::Product(id) => Some(id),
            Subject::Current => {
                if self.current.is_none() {
                    self.flag(ReviewReason::NoCurrentProduct);
                }
                self.current
            }
            Subject::Unknown => {
                self.flag(ReviewReason::UnknownKeyword);
                None
            }
        }
    }

    /// The catalogue spellings of a line's options, or a review reason.
    fn variants_of(&mut self, id: ProductId, d: &Draft) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut kinds: Vec<OptionKind> = Vec::new();
        let end = d.opt_end.min(self.lines.opts.len());
        for o in &self.lines.opts[d.opt_start.min(end)..end] {
            let key = option_key(&self.text[o.start as usize..o.key_end as usize]);
            match self.cat.variant_of(id, key) {
                Some(v) => {
                    if out.iter().any(|x| x == v) {
                        continue;
                    }
                    if o.kind != OptionKind::Other && kinds.contains(&o.kind) {
                        self.reason.get_or_insert(ReviewReason::AmbiguousVariant);
                    }
                    kinds.push(o.kind);
                    out.push(v.to_string());
                }
                None => {
                    self.reason.get_or_insert(ReviewReason::UnknownVariant);
                }
            }
        }
        out
    }

    fn finish(self, intent: Intent) -> Parsed {
        match self.reason {
            Some(r) => Parsed::review(intent, self.items, r),
            None => Parsed {
                intent,
                items: self.items,
                needs_review: false,
                reason: None,
                note: None,
            },
        }
    }

    /// One line per keyword and option set: `K08+1 K08+1` is two of K08.
    /// A cancel of the whole line (`None`) takes in any count of it.
    fn merge_repeats(&mut self) {
        if self.items.len() < 2 {
            return;
        }
        let mut merged: Vec<Line> = Vec::with_capacity(self.items.len());
        let mut over = false;
        let same =
            |a: &[String], b: &[String]| a.len() == b.len() && a.iter().all(|x| b.contains(x));
        for line in std::mem::take(&mut self.items) {
            match merged
                .iter_mut()
                .find(|m| m.keyword == line.keyword && same(&m.variant, &line.variant))
            {
                Some(m) => {
                    m.qty = match (m.qty, line.qty) {
                        (Some(a), Some(b)) => Some(a.saturating_add(b)),
                        _ => None,
                    };
                    over |= m.qty.is_some_and(|q| q > self.limits.max_qty);
                }
                None => merged.push(line),
            }
        }
        self.items = merged;
        if over {
            self.flag(ReviewReason::QtyOverLimit);
        }
    }

    /// The option sets of a `各` line: one per option of the kind listed more
    /// than once (`黑白各一` → 黑, 白), each with the options of other kinds.
    fn variants_each(&mut self, id: ProductId, d: &Draft) -> Vec<Vec<String>> {
        let mut found: Vec<(OptionKind, String)> = Vec::new();
        let end = d.opt_end.min(self.lines.opts.len());
        for o in &self.lines.opts[d.opt_start.min(end)..end] {
            let key = option_key(&self.text[o.start as usize..o.key_end as usize]);
            match self.cat.variant_of(id, key) {
                Some(v) if !found.iter().any(|(_, x)| x == v) => {
                    found.push((o.kind, v.to_string()))
                }
                Some(_) => {}
                None => {
                    self.reason.get_or_insert(ReviewReason::UnknownVariant);
                }
            }
        }
        let count = |k: OptionKind| found.iter().filter(|(x, _)| *x == k).count();
        let spread: Vec<OptionKind> = [OptionKind::Colour, OptionKind::Size, OptionKind::Other]
            .into_iter()
            .filter(|&k| count(k) > 1)
            .collect();
        let all = || found.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
        match spread[..] {
            [] => vec![all()],
            [kind] => found
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, one)| {
                    found
                        .iter()
                        .filter(|(k, v)| *k != kind || v == one)
                        .map(|(_, v)| v.clone())
                        .collect()
                })
                .collect(),
            _ => {
                // `黑白 S M 各一`: four lines or two? A person says.
                self.flag(ReviewReason::AmbiguousVariant);
                vec![all()]
            }
        }
    }

    fn line(&self, id: ProductId, qty: Option<u32>, variant: Vec<String>) -> Line {
        Line {
            keyword: self.cat.product(id).keyword.clone(),
            qty,
            variant,
        }
    }

    /// A qty within limits, or `None` with the reason flagged.
    fn checked(&mut self, q: Qty) -> Option<u32> {
        qty_value(q, self.limits).map_err(|r| self.flag(r)).ok()
    }

    fn decide(mut self) -> Parsed {
        let drafts = std::mem::take(&mut self.lines.drafts);
        let sig = self.lines.sig;
        let has_form =
            |f: &dyn Fn(QtyForm) -> bool| drafts.iter().any(|d| d.qty.is_some_and(|q| f(q.form)));
        let minus = has_form(&|f| f == QtyForm::Minus);
        let counted = has_form(&|f| f != QtyForm::Minus);
        // `幾多錢一件?` asks the price of one; `+1` or `要2件` is an order
        // whatever else is asked.
        let ordered =
            has_form(&|f| matches!(f, QtyForm::Plus | QtyForm::Times)) || (counted && sig.order);
        let asks = sig.ask_price || sig.ask_have || sig.ask_weak;
        let cancel = sig.cancel || minus;

        if sig.edit {
            self.flag(ReviewReason::EditRequest);
            return self.finish(if cancel {
                Intent::Cancel
            } else {
                Intent::Order
            });
        }
        if sig.unknown_code {
            self.flag(ReviewReason::UnknownKeyword);
        }
        // `佢話要K08`: whose order is it? A person says.
        if sig.other_person && (sig.order || sig.cancel || !drafts.is_empty()) {
            self.flag(ReviewReason::MissingQty);
        }
        if asks && !ordered && !cancel {
            return self.question(&drafts);
        }
        if cancel {
            return self.cancel(&drafts);
        }
        self.order(drafts)
    }

    fn question(mut self, drafts: &[Draft]) -> Parsed {
        let mut seen: Vec<ProductId> = Vec::new();
        for d in drafts {
            if let Subject::Product(id) = d.subject {
                if !seen.contains(&id) {
                    seen.push(id);
                }
            }
        }
        let sig = self.lines.sig;
        // `幾錢?` or `有冇M碼?` asks about what is on screen; `幾時寄?` does not.
        let about_current = sig.ask_price || (sig.ask_have && !self.lines.opts.is_empty());
        if seen.is_empty() && !sig.unknown_code {
            match self.current {
                Some(id) if about_current => seen.push(id),
                _ => return Parsed::none(),
            }
        }
        self.items = seen
            .iter()
            .map(|&id| self.line(id, None, Vec::new()))
            .collect();
        self.finish(Intent::Question)
    }

    fn cancel(mut self, drafts: &[Draft]) -> Parsed {
        let sig = self.lines.sig;
        if drafts
            .iter()
            .any(|d| d.qty.is_some_and(|q| q.form == QtyForm::Plus))
        {
            self.flag(ReviewReason::MixedIntent);
        }
        if drafts.is_empty() {
            if sig.all && !sig.unknown_code {
                self.flag(ReviewReason::CancelAll);
                return self.finish(Intent::Cancel);
            }
            if sig.residue > 0 && !sig.unknown_code && !sig.intent_word_alone {
                return Parsed::none();
            }
            self.flag(ReviewReason::AmbiguousCancel);
            return self.finish(Intent::Cancel);
        }
        for d in drafts {
            let Some(id) = self.product_of(d) else {
                continue;
            };
            if d.qty.is_none() && d.bare {
                self.flag(ReviewReason::AmbiguousQty);
            }
            // No qty, or a `+N` already flagged as mixed: cancel the whole line.
            let qty = match d.qty {
                Some(q) if q.form != QtyForm::Plus => self.checked(q),
                _ => None,
            };
            let variant = self.variants_of(id, d);
            let line = self.line(id, qty, variant);
            self.items.push(line);
        }
        self.merge_repeats();
        self.finish(Intent::Cancel)
    }

    fn order(mut self, drafts: Vec<Draft>) -> Parsed {
        let sig = self.lines.sig;
        let (order, residue, unknown) = (sig.order, sig.residue, sig.unknown_code);
        let loose_bare = sig.loose_bare && residue == 0;
        // A counted qty with no keyword in the middle of talk (`好靚 2件`) may
        // or may not be an order: a person says. A signed one (`+1`) is one.
        if drafts.iter().any(|d| {
            d.subject == Subject::Current
                && d.qty.is_some_and(|q| q.form == QtyForm::Count)
                && !order
                && residue > 0
        }) {
            self.flag(ReviewReason::AmbiguousQty);
        }

        if drafts.is_empty() {
            if order && residue == 0 && !unknown {
                // `我要`, `我都要`: the product on screen.
                match self.current {
                    Some(id) => {
                        let qty = self.checked(ONE);
                        self.items.push(self.line(id, qty, Vec::new()));
                    }
                    None => self.flag(ReviewReason::NoCurrentProduct),
                }
                return self.finish(Intent::Order);
            }
            if loose_bare && !unknown {
                // `2` alone: a qty with the `+` left off, or nothing at all.
                self.flag(ReviewReason::AmbiguousQty);
            }
            if order && sig.intent_word_alone && !unknown {
                // `好靚 我要`: "I want" amid talk, likely the product on screen.
                match self.current {
                    Some(id) => {
                        let qty = self.checked(ONE);
                        self.items.push(self.line(id, qty, Vec::new()));
                        self.flag(ReviewReason::MissingQty);
                    }
                    None => self.flag(ReviewReason::NoCurrentProduct),
                }
            }
            if self.reason.is_some() {
                return self.finish(Intent::Order);
            }
            return Parsed::none();
        }

        let any_qty = drafts.iter().any(|d| d.qty.is_some());
        let named = drafts
            .iter()
            .any(|d| matches!(d.subject, Subject::Product(_)));
        // Options alone (`黑色好靚`) are talk. A keyword, alone or with talk
        // (`A01 好靚`), might be an order: never silent, a person says.
        if !any_qty && !order && !unknown && !named {
            return Parsed::none();
        }

        for d in &drafts {
            let product = self.product_of(d);
            let qty = match d.qty {
                Some(q) => self.checked(q),
                None if d.bare => {
                    self.flag(ReviewReason::AmbiguousQty);
                    None
                }
                None if order => self.checked(ONE),
                None => {
                    self.flag(ReviewReason::MissingQty);
                    None
                }
            };
            if d.repeated_qty {
                self.flag(ReviewReason::AmbiguousQty);
            }
            let Some(id) = product else {
                continue;
            };
            if d.each {
                for variant in self.variants_each(id, d) {
                    let line = self.line(id, qty, variant);
                    self.items.push(line);
                }
                continue;
            }
            let variant = self.variants_of(id, d);
            let line = self.line(id, qty, variant);
            self.items.push(line);
        }
        self.merge_repeats();
        self.finish(Intent::Order)
    }
}

/// Decides a scanned comment. `text` is the normalised text the tokens index.
pub fn decide(
    text: &str,
    toks: &[Token],
    cat: &Catalog,
    current: Option<ProductId>,
    limits: &Limits,
) -> Parsed {
    Decider {
        text,
        cat,
        current,
        limits,
        lines: group(toks),
        items: Vec::new(),
        reason: None,
    }
    .decide()
}

#[cfg(test)]
mod tests {
    //! One test per rule of issue 16, each over several keywords and numbers, so a
    //! rule holds in general and not for one spelling.

    use crate::parse::{parse, Catalog, Intent, Limits, Parsed, Product, ReviewReason};

    fn cat() -> Catalog {
        let p = |kw: &str, name: &str, v: &[&str]| Product {
            keyword: kw.into(),
            name: name.into(),
            price: 100,
            variants: v.iter().map(|s| s.to_string()).collect(),
        };
        Catalog::new(vec![
            p("Q5", "圍巾", &["紅", "Grey", "S", "L"]),
            p("Q55", "", &[]),
            p("ZZ", "", &[]),
            p("手袋", "皮手袋", &[]),
        ])
    }

    fn run(text: &str, current: Option<&str>) -> Parsed {
        parse(text, &cat(), current, &Limits::default())
    }

    /// (keyword, qty, variants) of a parse that needs no review.
    fn lines(p: &Parsed) -> Vec<(String, Option<u32>, Vec<String>)> {
        assert!(!p.needs_review, "review: {p:?}");
        p.items
            .iter()
            .map(|l| (l.keyword.clone(), l.qty, l.variant.clone()))
            .collect()
    }

    fn one(kw: &str, qty: u32) -> Vec<(String, Option<u32>, Vec<String>)> {
        vec![(kw.to_string(), Some(qty), Vec::new())]
    }

    const KWS: &[&str] = &["Q5", "Q55", "ZZ", "手袋"];

    #[test]
    fn an_alias_orders_its_product_by_the_catalogue_keyword() {
        let p = |kw: &str, v: &[&str]| Product {
            keyword: kw.into(),
            name: String::new(),
            price: 100,
            variants: v.iter().map(|s| s.to_string()).collect(),
        };
        let cat = Catalog::with_aliases(
            vec![p("H01", &["紅", "黑"]), p("H02", &[])],
            vec![vec!["漁夫帽".into()], vec!["cap".into()]],
        );
        let run = |t: &str| parse(t, &cat, None, &Limits::default());
        for (text, kw, qty, variant) in [
            ("漁夫帽 +1", "H01", 1, vec![]),
            ("漁夫帽黑+2", "H01", 2, vec!["黑".to_string()]),
            ("cap+3", "H02", 3, vec![]),
            ("CAP＋1", "H02", 1, vec![]),
        ] {
            let got = run(text);
            assert_eq!(got.intent, Intent::Order, "{text}: {got:?}");
            assert_eq!(
                lines(&got),
                vec![(kw.to_string(), Some(qty), variant)],
                "{text}"
            );
        }
    }

    fn shop_cat(rows: &[(crate::parse::SynonymKind, &str, &str)]) -> Catalog {
        let p = |kw: &str, v: &[&str]| Product {
            keyword: kw.into(),
            name: String::new(),
            price: 100,
            variants: v.iter().map(|s| s.to_string()).collect(),
        };
        let rows: Vec<crate::parse::Synonym> = rows
            .iter()
            .map(|&(kind, word, meaning)| crate::parse::Synonym {
                kind,
                word: word.into(),
                meaning: meaning.into(),
            })
            .collect();
        Catalog::new(vec![
            p("A01", &["Burgundy", "Navy", "S", "M"]),
            p("B02", &["黑色", "白色"]),
            p("扎", &[]),
        ])
        .with_synonyms(&rows)
    }

    #[test]
    fn a_shop_colour_word_picks_the_option_it_means() {
        use crate::parse::SynonymKind::{Colour, Size};
        let without = shop_cat(&[]);
        let with = shop_cat(&[
            (Colour, "酒紅", "Burgundy"),
            (Colour, "wine", "burgundy"),
            (Colour, "墨黑", "black"),
            (Size, "中童", "M"),
        ]);
        let run = |c: &Catalog, t: &str| parse(t, c, None, &Limits::default());
        for (text, kw, variant) in [
            ("A01 酒紅 M +1", "A01", vec!["Burgundy", "M"]),
            ("A01酒紅色M+1", "A01", vec!["Burgundy", "M"]),
            ("A01 Wine s +1", "A01", vec!["Burgundy", "S"]),
            ("A01 navy 中童 +1", "A01", vec!["Navy", "M"]),
            // The meaning is a word of the option table: it finds the catalogue's
            // spelling of that group.
            ("B02 墨黑 +1", "B02", vec!["黑色"]),
        ] {
            let variant: Vec<String> = variant.into_iter().map(String::from).collect();
            let got = run(&with, text);
            assert_eq!(got.intent, Intent::Order, "{text}: {got:?}");
            assert_eq!(
                lines(&got),
                vec![(kw.to_string(), Some(1), variant)],
                "{text}"
            );
            // Without the shop's table the same words are not understood.
            let before = run(&without, text);
            assert!(
                before.needs_review || before.items != got.items,
                "{text}: {before:?}"
            );
        }
        // The shop's kind counts: two colours on one line still need a person.
        let got = run(&with, "A01 酒紅 navy +1");
        assert_eq!(got.reason, Some(ReviewReason::AmbiguousVariant), "{got:?}");
        // A word the shop maps stays an option where the product lacks its meaning.
        let got = run(&with, "B02 酒紅 +1");
        assert_eq!(got.reason, Some(ReviewReason::UnknownVariant), "{got:?}");
    }

    #[test]
    fn a_shop_counter_makes_the_number_before_it_a_qty() {
        use crate::parse::SynonymKind::Counter;
        let with = shop_cat(&[
            (Counter, "盤", "1"),
            (Counter, "bundle", "1"),
            (Counter, "箱裝", "打"),
            // A counter that is a product's keyword here is left out.
            (Counter, "扎", "1"),
        ]);
        let without = shop_cat(&[]);
        let run = |c: &Catalog, t: &str| parse(t, c, None, &Limits::default());
        for (text, qty) in [
            ("A01 兩盤", 2),
            ("A01 3盤", 3),
            ("A01 2 bundles", 0),
            ("A01 two bundle", 2),
            ("A01 一箱裝", 12),
            ("A01 +2盤", 2),
        ] {
            let got = run(&with, text);
            if qty == 0 {
                // `bundles` is not the shop's word: no counter, so no silent guess.
                assert!(got.needs_review, "{text}: {got:?}");
                continue;
            }
            assert_eq!(got.intent, Intent::Order, "{text}: {got:?}");
            assert_eq!(lines(&got), one("A01", qty), "{text}");
            // Without the table: review, or (`一箱裝` as one built-in `箱`) another qty.
            // (`+2` says the qty by itself.)
            if !text.contains('+') {
                let before = run(&without, text);
                assert!(
                    before.needs_review || before.items != got.items,
                    "{text} without the table: {before:?}"
                );
            }
        }
        // `扎` stays the product's keyword.
        let got = run(&with, "扎+1");
        assert_eq!(lines(&got), one("扎", 1), "{got:?}");
    }

    #[test]
    fn jia_and_jian_are_plus_and_minus() {
        for kw in KWS {
            for (n, zh) in [(1, "一"), (2, "兩"), (3, "3"), (12, "十二")] {
                let p = run(&format!("{kw}加{zh}"), None);
                assert_eq!(
                    (p.intent, lines(&p)),
                    (Intent::Order, one(kw, n)),
                    "{kw}加{zh}"
                );
                let p = run(&format!("{kw} 減{zh}件"), None);
                assert_eq!(
                    (p.intent, lines(&p)),
                    (Intent::Cancel, one(kw, n)),
                    "{kw}減{zh}"
                );
            }
        }
        // Without a number they are words, not signs.
        assert_eq!(run("主播加油", Some("ZZ")), Parsed::none());
    }

    #[test]
    fn counters_count_and_dozens_multiply() {
        for kw in KWS {
            for (text, n) in [
                ("一打", 12),
                ("半打", 6),
                ("1打", 12),
                ("+1打", 12),
                ("a dozen", 12),
                ("1 dozen", 12),
                ("half dozen", 6),
                ("half a dozen", 6),
                ("三對", 3),
                ("2 pairs", 2),
                ("兩樽", 2),
                ("4 pcs", 4),
                ("5顆", 5),
            ] {
                let p = run(&format!("{kw} {text}"), None);
                assert_eq!(lines(&p), one(kw, n), "{kw} {text}");
            }
            let p = run(&format!("{kw} 兩打"), None);
            assert_eq!(p.reason, Some(ReviewReason::QtyOverLimit), "24 is over 20");
        }
    }

    #[test]
    fn chinese_sizes_map_to_the_catalogues_sizes() {
        for (typed, want) in [
            ("細碼", "S"),
            ("細", "S"),
            ("小號", "S"),
            ("大碼", "L"),
            ("大", "L"),
            ("大號", "L"),
        ] {
            let p = run(&format!("Q5 {typed} +1"), None);
            assert_eq!(p.items[0].variant, vec![want.to_string()], "{typed}");
            assert!(!p.needs_review, "{typed}");
        }
        // M is not in the catalogue: a person says, not a guess.
        let p = run("Q5 中碼 +1", None);
        assert_eq!(p.reason, Some(ReviewReason::UnknownVariant));
        let p = run("ZZ 細碼 +1", None);
        assert_eq!(p.reason, Some(ReviewReason::UnknownVariant));
    }

    #[test]
    fn colours_map_across_languages() {
        for (typed, want) in [
            ("red", "紅"),
            ("紅色", "紅"),
            ("灰", "Grey"),
            ("gray", "Grey"),
        ] {
            let p = run(&format!("Q5 {typed} +1"), None);
            assert_eq!(p.items[0].variant, vec![want.to_string()], "{typed}");
            assert!(!p.needs_review, "{typed}");
        }
    }

    #[test]
    fn qty_before_the_keyword() {
        for kw in KWS {
            for (text, n) in [
                (format!("2 x {kw}"), 2),
                (format!("3x {kw}"), 3),
                (format!("4 × {kw}"), 4),
                (format!("兩件{kw}"), 2),
                (format!("3 pcs {kw}"), 3),
                (format!("一打{kw}"), 12),
            ] {
                let p = run(&text, None);
                assert_eq!(lines(&p), one(kw, n), "{text}");
            }
            // A bare number before a keyword: qty or product number? A person says.
            assert_eq!(
                run(&format!("2 {kw}"), None).reason,
                Some(ReviewReason::AmbiguousQty)
            );
        }
    }

    #[test]
    fn equals_and_colon_separate_keyword_and_qty() {
        for kw in KWS {
            for sep in ["=", " = ", ":", ": ", " : ", "＝", "："] {
                for n in [1, 2, 7] {
                    let p = run(&format!("{kw}{sep}{n}"), None);
                    assert_eq!(lines(&p), one(kw, n), "{kw}{sep}{n}");
                }
            }
            assert!(run(&format!("{kw}=99"), None).needs_review);
            assert!(run(&format!("{kw}=0"), None).needs_review);
            // A price after `=` is no qty.
            let p = run(&format!("{kw}=299元"), None);
            assert_eq!(p.reason, Some(ReviewReason::MissingQty));
        }
        // Times of day are no qty.
        assert_eq!(run("3:30開始?", Some("ZZ")), Parsed::none());
    }

    #[test]
    fn cancel_all_goes_to_a_person_and_a_named_product_is_cancelled() {
        for text in [
            "全部取消",
            "取消全部",
            "全部唔要",
            "唔要晒",
            "全部不要了",
            "取消所有",
            "cancel all",
            "cancel everything",
            "all cancel",
        ] {
            for cur in [None, Some("ZZ")] {
                let p = run(text, cur);
                assert_eq!(p.intent, Intent::Cancel, "{text}");
                assert_eq!(p.reason, Some(ReviewReason::CancelAll), "{text}");
                assert!(p.note.is_some());
            }
            for kw in KWS {
                let p = run(&format!("{kw} {text}"), None);
                assert_eq!(p.intent, Intent::Cancel, "{kw} {text}");
                assert_eq!(
                    lines(&p),
                    vec![(kw.to_string(), None, Vec::new())],
                    "{kw} {text}"
                );
            }
        }
    }

    #[test]
    fn each_spreads_the_qty_over_what_is_listed() {
        for (n, zh) in [(1, "一"), (2, "2"), (3, "三件")] {
            let p = run(&format!("Q5 紅灰各{zh}"), None);
            assert_eq!(
                lines(&p),
                vec![
                    ("Q5".into(), Some(n), vec!["紅".into()]),
                    ("Q5".into(), Some(n), vec!["Grey".into()]),
                ],
                "{zh}"
            );
            let p = run(&format!("Q5 紅 S L 各{zh}"), None);
            assert_eq!(
                lines(&p),
                vec![
                    ("Q5".into(), Some(n), vec!["紅".into(), "S".into()]),
                    ("Q5".into(), Some(n), vec!["紅".into(), "L".into()]),
                ]
            );
            let p = run(&format!("Q55 ZZ 手袋 各{zh}"), None);
            assert_eq!(
                lines(&p),
                vec![
                    ("Q55".into(), Some(n), vec![]),
                    ("ZZ".into(), Some(n), vec![]),
                    ("手袋".into(), Some(n), vec![]),
                ]
            );
        }
        assert!(run("Q5 紅灰 S L 各一", None).needs_review);
        assert!(run("Q5 紅灰各", None).needs_review);
    }

    #[test]
    fn order_verbs_order_and_give_up_words_cancel() {
        for kw in KWS {
            for verb in [
                "sold", "claim", "mine", "take", "下單", "喊單", "要", "下標",
            ] {
                for text in [format!("{verb} {kw}"), format!("{kw} {verb}")] {
                    let p = run(&text, None);
                    assert_eq!((p.intent, lines(&p)), (Intent::Order, one(kw, 1)), "{text}");
                }
            }
            for give_up in ["pass", "skip", "放棄", "cancel", "唔要"] {
                for text in [format!("{give_up} {kw}"), format!("{kw} {give_up}")] {
                    let p = run(&text, None);
                    assert_eq!(p.intent, Intent::Cancel, "{text}");
                    assert_eq!(lines(&p), vec![(kw.to_string(), None, vec![])], "{text}");
                }
            }
        }
        // The product on screen.
        let p = run("mine", Some("ZZ"));
        assert_eq!(lines(&p), one("ZZ", 1));
    }

    #[test]
    fn keycaps_and_heavy_plus_are_digits_and_plus() {
        for kw in KWS {
            for (text, n) in [("➕1", 1), ("+2️⃣", 2), ("➕3️⃣", 3), ("x4️⃣", 4), ("+🔟", 10)]
            {
                let p = run(&format!("{kw} {text}"), None);
                assert_eq!(lines(&p), one(kw, n), "{kw} {text}");
            }
        }
    }

    #[test]
    fn repeated_lines_are_summed() {
        for kw in KWS {
            for sep in [" ", "\n", ", "] {
                let p = run(&format!("{kw}+1{sep}{kw}+2"), None);
                assert_eq!(lines(&p), one(kw, 3), "{kw}");
            }
            let p = run(&format!("{kw}+12 {kw}+9"), None);
            assert_eq!(p.reason, Some(ReviewReason::QtyOverLimit));
        }
        let p = run("Q5 紅+1 Q5 紅+1 Q5 灰+1", None);
        assert_eq!(
            lines(&p),
            vec![
                ("Q5".into(), Some(2), vec!["紅".into()]),
                ("Q5".into(), Some(1), vec!["Grey".into()]),
            ]
        );
        let p = run("Q5-1 Q5-1", None);
        assert_eq!((p.intent, lines(&p)), (Intent::Cancel, one("Q5", 2)));
    }

    #[test]
    fn spaced_keywords_and_product_names() {
        for (text, kw) in [("Q 5 +1", "Q5"), ("q 55+1", "Q55"), ("Q5 圍巾 +1", "Q5")] {
            let p = run(text, None);
            assert_eq!(lines(&p), one(kw, 1), "{text}");
        }
        let p = run("Q5圍巾紅色x2", None);
        assert_eq!(lines(&p), vec![("Q5".into(), Some(2), vec!["紅".into()])]);
        let p = run("手袋 皮手袋 +1", None);
        assert_eq!(lines(&p), one("手袋", 1));
        // `Q 6` is no keyword: a code we do not have.
        assert!(run("Q 6 +1", None).needs_review);
    }

    #[test]
    fn a_named_keyword_is_never_silent_and_chat_is() {
        for kw in KWS {
            for text in [
                kw.to_string(),
                format!("{kw} 好靚"),
                format!("{kw}好好睇"),
                format!("hello {kw}"),
            ] {
                let p = run(&text, None);
                assert!(p.needs_review || p.intent != Intent::None, "{text}: {p:?}");
            }
        }
        for text in ["好靚", "主播好靚", "hello", "😍😍", "3點開始?"] {
            assert_eq!(run(text, Some("ZZ")), Parsed::none(), "{text}");
        }
    }

    #[test]
    fn reviews_explain_themselves_and_keep_the_guess() {
        let p = run("Q5 紫 +1", None);
        assert_eq!(p.reason, Some(ReviewReason::UnknownVariant));
        assert_eq!(
            p.note.as_deref(),
            Some(ReviewReason::UnknownVariant.describe())
        );
        assert_eq!(p.items[0].keyword, "Q5");
        assert_eq!(p.items[0].qty, Some(1));
        let ok = run("Q5+1", None);
        assert_eq!(ok.note, None);
    }
}
