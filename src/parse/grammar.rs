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

    let fresh = |subject, opt_start| Draft {
        subject,
        opt_start,
        opt_end: usize::MAX,
        qty: None,
        opts_before_qty: 0,
        bare: false,
        repeated_qty: false,
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
                Signal::Order => sig.order = true,
                Signal::Cancel => sig.cancel = true,
                Signal::Edit => sig.edit = true,
                Signal::AskPrice => sig.ask_price = true,
                Signal::AskHave => sig.ask_have = true,
                Signal::AskWeak => sig.ask_weak = true,
            },
            Tok::Noise { word, .. } => sig.residue += u32::from(word),
            Tok::Sep => {}
        }
    }
    if let Some(d) = drafts.last_mut() {
        d.opt_end = opts.len();
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
        Parsed {
            intent,
            items: self.items,
            needs_review: self.reason.is_some(),
            reason: self.reason,
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
            if sig.residue > 0 && !sig.unknown_code {
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
        self.finish(Intent::Cancel)
    }

    fn order(mut self, drafts: Vec<Draft>) -> Parsed {
        let sig = self.lines.sig;
        let (order, residue, unknown) = (sig.order, sig.residue, sig.unknown_code);
        let loose_bare = sig.loose_bare && residue == 0;
        // A counted qty with no keyword in the middle of talk (`我一個人睇`)
        // is not an order; a signed one (`+1`) still is.
        let drafts: Vec<Draft> = drafts
            .into_iter()
            .filter(|d| {
                !(d.subject == Subject::Current
                    && d.qty.is_some_and(|q| q.form == QtyForm::Count)
                    && !order
                    && residue > 0)
            })
            .collect();

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
            if self.reason.is_some() {
                return self.finish(Intent::Order);
            }
            return Parsed::none();
        }

        let any_qty = drafts.iter().any(|d| d.qty.is_some());
        let named = drafts
            .iter()
            .any(|d| matches!(d.subject, Subject::Product(_)));
        // A keyword with talk around it (`A01 好靚`) is about the product, not
        // an order; a keyword alone might be one, so it goes to a person.
        if !any_qty && !order && !unknown && (residue > 0 || !named) {
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
            let variant = self.variants_of(id, d);
            let line = self.line(id, qty, variant);
            self.items.push(line);
        }
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
