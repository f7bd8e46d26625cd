//! The payments page's sentences, in zh-HK, zh-TW and en.

use serde::Serialize;

use super::lang::PageLang;
use crate::vocab::PaymentIssueKind;

#[derive(Debug, Serialize)]
pub struct PaymentTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub none_open: &'static str,
    pub order: &'static str,
    pub no_order: &'static str,
    pub paid: &'static str,
    pub session: &'static str,
    pub note: &'static str,
    pub note_hint: &'static str,
    pub resolve: &'static str,
    pub resolved: &'static str,
    pub note_needed: &'static str,
    pub already_closed: &'static str,
    unmatched: &'static str,
    amount_mismatch: &'static str,
    after_close: &'static str,
    paid_twice: &'static str,
}

impl PaymentTexts {
    pub fn get(lang: PageLang) -> &'static PaymentTexts {
        match lang {
            PageLang::ZhHk => &ZH_HK,
            PageLang::ZhTw => &ZH_TW,
            PageLang::En => &EN,
        }
    }

    pub fn kind(&self, kind: PaymentIssueKind) -> &'static str {
        match kind {
            PaymentIssueKind::Unmatched => self.unmatched,
            PaymentIssueKind::AmountMismatch => self.amount_mismatch,
            PaymentIssueKind::AfterClose => self.after_close,
            PaymentIssueKind::PaidTwice => self.paid_twice,
        }
    }
}

const ZH_HK: PaymentTexts = PaymentTexts {
    title: "待處理付款",
    intro: "網上付款未能自動對數：請處理（例如退款或手動配對）後寫低做咗乜。",
    none_open: "冇待處理嘅付款。",
    order: "訂單",
    no_order: "搵唔到訂單",
    paid: "已付",
    session: "付款編號",
    note: "處理備註",
    note_hint: "例如：已退款 / 已配對訂單",
    resolve: "標示已處理",
    resolved: "已標示為處理完畢。",
    note_needed: "請寫低處理備註（1 至 500 字）。",
    already_closed: "呢項已經有同事處理咗。",
    unmatched: "付款對唔到任何訂單",
    amount_mismatch: "付款金額同訂單唔一樣",
    after_close: "訂單過期或取消後先付款",
    paid_twice: "同一張訂單付咗兩次",
};

const ZH_TW: PaymentTexts = PaymentTexts {
    title: "待處理付款",
    intro: "網路付款無法自動對帳：請處理（例如退款或手動配對）後記下處理方式。",
    none_open: "沒有待處理的付款。",
    order: "訂單",
    no_order: "找不到訂單",
    paid: "已付",
    session: "付款編號",
    note: "處理備註",
    note_hint: "例如：已退款／已配對訂單",
    resolve: "標示已處理",
    resolved: "已標示為處理完成。",
    note_needed: "請填寫處理備註（1 至 500 字）。",
    already_closed: "這項已由其他同事處理。",
    unmatched: "付款對不到任何訂單",
    amount_mismatch: "付款金額與訂單不符",
    after_close: "訂單逾期或取消後才付款",
    paid_twice: "同一筆訂單付款兩次",
};

const EN: PaymentTexts = PaymentTexts {
    title: "Payments to check",
    intro: "Online payments that could not be matched by themselves: handle each (refund, match by hand…) and note what you did.",
    none_open: "No payment needs a check.",
    order: "Order",
    no_order: "no order found",
    paid: "Paid",
    session: "Payment id",
    note: "What was done",
    note_hint: "e.g. refunded / matched to an order",
    resolve: "Mark handled",
    resolved: "Marked handled.",
    note_needed: "Write what was done (1 to 500 characters).",
    already_closed: "Someone else already handled this one.",
    unmatched: "Paid, but no order opened this payment",
    amount_mismatch: "The amount paid is not the order's total",
    after_close: "Paid after the order expired or was cancelled",
    paid_twice: "A second payment of a paid order",
};
