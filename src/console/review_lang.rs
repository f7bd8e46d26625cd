//! The review queue's and the comment stream's sentences, in zh-HK, zh-TW and en.

use serde::Serialize;

use super::lang::PageLang;
use crate::pipeline::review::LineProblem;
use crate::pipeline::OutcomeKind;

#[derive(Debug, Serialize)]
pub struct ReviewTexts {
    pub review_title: &'static str,
    pub review_intro: &'static str,
    pub queue_empty: &'static str,
    pub buyer: &'static str,
    pub unknown_buyer: &'static str,
    pub orders: &'static str,
    pub holds: &'static str,
    pub reason: &'static str,
    pub guess: &'static str,
    pub no_guess: &'static str,
    pub accept: &'static str,
    pub edit_accept: &'static str,
    pub keyword: &'static str,
    pub variant: &'static str,
    pub variant_hint: &'static str,
    pub qty: &'static str,
    pub answer: &'static str,
    pub dismiss: &'static str,
    pub keys_hint: &'static str,
    pub accepted: &'static str,
    pub answered: &'static str,
    pub dismissed: &'static str,
    pub already_decided: &'static str,
    pub decided_by: &'static str,
    pub not_accepted: &'static str,
    /// Why lines were refused, `{0}` the keyword and `{1}` the options: no lines, no
    /// keywords, no live, live gone, qty, not in the lineup, no such variant.
    problems: [&'static str; 7],
    pub new_items: &'static str,
    pub live: &'static str,
    pub details: &'static str,
    pub stream_title: &'static str,
    pub outcome: &'static str,
    pub all_outcomes: &'static str,
    pub search_buyer: &'static str,
    pub filter: &'static str,
    pub replies: &'static str,
    pub no_replies: &'static str,
    pub no_comments: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub event_title: &'static str,
    pub parse: &'static str,
    pub no_holds: &'static str,
    pub text: &'static str,
    pub time: &'static str,
    pub comments: &'static str,
    pub outcome_pending: &'static str,
    pub outcome_reserved: &'static str,
    pub outcome_waitlisted: &'static str,
    pub outcome_rejected: &'static str,
    pub outcome_needs_review: &'static str,
    pub outcome_question_answered: &'static str,
    pub outcome_cancelled: &'static str,
    pub outcome_ignored: &'static str,
}

impl ReviewTexts {
    pub fn get(lang: PageLang) -> &'static ReviewTexts {
        match lang {
            PageLang::ZhHk => &ZH_HK,
            PageLang::ZhTw => &ZH_TW,
            PageLang::En => &EN,
        }
    }

    /// Why lines were refused, in this language.
    pub fn problem(&self, problem: &LineProblem) -> String {
        let (i, keyword, options) = match problem {
            LineProblem::NoLines => (0, "", String::new()),
            LineProblem::NoKeywords => (1, "", String::new()),
            LineProblem::NoLive => (2, "", String::new()),
            LineProblem::LiveGone => (3, "", String::new()),
            LineProblem::Qty(k) => (4, k.as_str(), String::new()),
            LineProblem::NotInLineup(k) => (5, k.as_str(), String::new()),
            LineProblem::NoSuchVariant(k, v) => (6, k.as_str(), v.join(" ")),
        };
        self.problems[i]
            .replace("{0}", keyword)
            .replace("{1}", &options)
    }

    /// An outcome's name; `None` is a comment the sequencer has not decided yet.
    pub fn outcome(&self, outcome: Option<OutcomeKind>) -> &'static str {
        match outcome {
            None => self.outcome_pending,
            Some(OutcomeKind::Reserved) => self.outcome_reserved,
            Some(OutcomeKind::Waitlisted) => self.outcome_waitlisted,
            Some(OutcomeKind::Rejected) => self.outcome_rejected,
            Some(OutcomeKind::NeedsReview) => self.outcome_needs_review,
            Some(OutcomeKind::QuestionAnswered) => self.outcome_question_answered,
            Some(OutcomeKind::Cancelled) => self.outcome_cancelled,
            Some(OutcomeKind::Ignored) => self.outcome_ignored,
        }
    }
}

const ZH_HK: ReviewTexts = ReviewTexts {
    review_title: "待審核留言",
    review_intro: "系統未能肯定嘅留言。接受、修改後接受、當問題回覆，或者略過。",
    queue_empty: "冇留言等緊審核。",
    buyer: "買家",
    unknown_buyer: "未知買家",
    orders: "訂單",
    holds: "保留",
    reason: "原因",
    guess: "系統估計",
    no_guess: "冇估計",
    accept: "接受",
    edit_accept: "修改後接受",
    keyword: "貨號",
    variant: "款式",
    variant_hint: "用空格分隔，例如：黑 M",
    qty: "數量",
    answer: "當問題回覆",
    dismiss: "略過",
    keys_hint: "鍵盤：j／k 上下、a 接受、e 修改、d 略過",
    accepted: "已接受。",
    answered: "已回覆問題。",
    dismissed: "已略過。",
    already_decided: "另一位同事已經處理咗呢條留言，結果係：",
    decided_by: "處理人：",
    not_accepted: "未能接受：",
    problems: [
        "請最少填一行：關鍵字同數量。",
        "請最少填一個關鍵字。",
        "呢條留言唔屬於任何直播。",
        "呢條留言嘅直播已經唔存在。",
        "「{0}」嘅數量要係 1 至 999。",
        "「{0}」唔喺呢場直播嘅貨品清單入面。",
        "「{0}」冇「{1}」呢個款式。",
    ],
    new_items: "有新留言等緊審核",
    live: "直播",
    details: "詳情",
    stream_title: "留言",
    outcome: "結果",
    all_outcomes: "全部結果",
    search_buyer: "搜尋買家",
    filter: "篩選",
    replies: "回覆",
    no_replies: "未有回覆",
    no_comments: "冇符合嘅留言。",
    next_page: "下一頁",
    first_page: "第一頁",
    event_title: "留言詳情",
    parse: "系統解讀",
    no_holds: "冇保留",
    text: "內容",
    time: "時間",
    comments: "留言",
    outcome_pending: "處理中",
    outcome_reserved: "已保留",
    outcome_waitlisted: "輪候中",
    outcome_rejected: "未能落單",
    outcome_needs_review: "待審核",
    outcome_question_answered: "已答問題",
    outcome_cancelled: "已取消",
    outcome_ignored: "已略過",
};

const ZH_TW: ReviewTexts = ReviewTexts {
    review_title: "待審核留言",
    review_intro: "系統無法確定的留言。接受、修改後接受、當作問題回覆，或略過。",
    queue_empty: "沒有等待審核的留言。",
    buyer: "買家",
    unknown_buyer: "未知買家",
    orders: "訂單",
    holds: "保留",
    reason: "原因",
    guess: "系統推測",
    no_guess: "沒有推測",
    accept: "接受",
    edit_accept: "修改後接受",
    keyword: "商品代碼",
    variant: "規格",
    variant_hint: "以空格分隔，例如：黑 M",
    qty: "數量",
    answer: "當作問題回覆",
    dismiss: "略過",
    keys_hint: "鍵盤：j／k 上下、a 接受、e 修改、d 略過",
    accepted: "已接受。",
    answered: "已回覆問題。",
    dismissed: "已略過。",
    already_decided: "另一位同事已處理這則留言，結果是：",
    decided_by: "處理者：",
    not_accepted: "無法接受：",
    problems: [
        "請至少填寫一行：關鍵字與數量。",
        "請至少填寫一個關鍵字。",
        "這則留言不屬於任何直播。",
        "這則留言的直播已不存在。",
        "「{0}」的數量須為 1 至 999。",
        "「{0}」不在這場直播的商品清單中。",
        "「{0}」沒有「{1}」這個款式。",
    ],
    new_items: "有新的留言等待審核",
    live: "直播",
    details: "詳細",
    stream_title: "留言",
    outcome: "結果",
    all_outcomes: "全部結果",
    search_buyer: "搜尋買家",
    filter: "篩選",
    replies: "回覆",
    no_replies: "尚未回覆",
    no_comments: "沒有符合的留言。",
    next_page: "下一頁",
    first_page: "第一頁",
    event_title: "留言詳細",
    parse: "系統解讀",
    no_holds: "沒有保留",
    text: "內容",
    time: "時間",
    comments: "留言",
    outcome_pending: "處理中",
    outcome_reserved: "已保留",
    outcome_waitlisted: "候補中",
    outcome_rejected: "無法下單",
    outcome_needs_review: "待審核",
    outcome_question_answered: "已回答問題",
    outcome_cancelled: "已取消",
    outcome_ignored: "已略過",
};

const EN: ReviewTexts = ReviewTexts {
    review_title: "Review queue",
    review_intro: "Comments the parser could not decide. Accept, edit then accept, answer as a question, or dismiss.",
    queue_empty: "Nothing is waiting for review.",
    buyer: "Buyer",
    unknown_buyer: "unknown buyer",
    orders: "orders",
    holds: "holds",
    reason: "Reason",
    guess: "Best guess",
    no_guess: "no guess",
    accept: "Accept",
    edit_accept: "Edit and accept",
    keyword: "Keyword",
    variant: "Variant",
    variant_hint: "separated by spaces, e.g. Black M",
    qty: "Qty",
    answer: "Answer as a question",
    dismiss: "Dismiss",
    keys_hint: "Keys: j/k move, a accept, e edit, d dismiss",
    accepted: "Accepted.",
    answered: "Answered.",
    dismissed: "Dismissed.",
    already_decided: "Someone else already decided this comment. Its outcome: ",
    decided_by: "by ",
    not_accepted: "Not accepted: ",
    problems: [
        "give at least one line: a keyword and a qty.",
        "give at least one keyword.",
        "the comment belongs to no live.",
        "the comment's live is gone.",
        "the qty of “{0}” is 1 to 999.",
        "“{0}” is not in this live's lineup.",
        "“{0}” has no “{1}”.",
    ],
    new_items: "New comments are waiting for review",
    live: "Live",
    details: "Details",
    stream_title: "Comments",
    outcome: "Outcome",
    all_outcomes: "All outcomes",
    search_buyer: "Search buyer",
    filter: "Filter",
    replies: "Replies",
    no_replies: "no replies yet",
    no_comments: "No comments match.",
    next_page: "Next page",
    first_page: "First page",
    event_title: "Comment",
    parse: "Parse",
    no_holds: "no holds",
    text: "Text",
    time: "Time",
    comments: "Comments",
    outcome_pending: "in progress",
    outcome_reserved: "reserved",
    outcome_waitlisted: "waitlisted",
    outcome_rejected: "rejected",
    outcome_needs_review: "needs review",
    outcome_question_answered: "question answered",
    outcome_cancelled: "cancelled",
    outcome_ignored: "ignored",
};

/// Why a comment waits for staff, by its reason code: [zh-HK, zh-TW, en].
const REASONS: &[(&str, [&str; 3])] = &[
    (
        "unknown_keyword",
        [
            "提到嘅貨品編號唔喺今場貨品清單",
            "提到的商品編號不在本場商品清單",
            "names a product code that is not in this live's lineup",
        ],
    ),
    (
        "qty_over_limit",
        [
            "數量超過每條留言上限",
            "數量超過每則留言上限",
            "asks for more than the per-comment limit",
        ],
    ),
    (
        "bad_qty",
        [
            "數量係零、小數或者睇唔明",
            "數量為零、小數或無法辨識",
            "the quantity is zero, a fraction or unreadable",
        ],
    ),
    (
        "ambiguous_qty",
        [
            "單獨一個數字，可能係數量、價錢或者其他",
            "單獨一個數字，可能是數量、價格或其他",
            "a bare number could be the quantity, a price or something else",
        ],
    ),
    (
        "missing_qty",
        [
            "唔肯定係咪落單，或者要幾多",
            "不確定是否下單，或要幾個",
            "unclear whether it is an order, or of how many",
        ],
    ),
    (
        "unknown_variant",
        [
            "提到嘅顏色或尺碼呢件貨冇",
            "提到的顏色或尺寸此商品沒有",
            "names a colour or size this product does not have",
        ],
    ),
    (
        "ambiguous_variant",
        [
            "一行提到兩隻顏色或兩個尺碼",
            "一行提到兩種顏色或兩個尺寸",
            "names two colours or two sizes for one line",
        ],
    ),
    (
        "no_current_product",
        [
            "冇講貨品，而家又冇貨品喺鏡頭前",
            "沒說商品，目前也沒有商品在鏡頭前",
            "orders without naming a product while none is on screen",
        ],
    ),
    (
        "edit_request",
        ["想改單", "想修改訂單", "asks to change an order"],
    ),
    (
        "mixed_intent",
        [
            "同一條留言又落單又取消",
            "同一則留言同時下單和取消",
            "orders and cancels in one comment",
        ],
    ),
    (
        "ambiguous_cancel",
        [
            "取消但冇講取消乜",
            "取消但沒說取消什麼",
            "cancels without saying what",
        ],
    ),
    (
        "cancel_all",
        [
            "取消今場所有訂購",
            "取消本場所有訂購",
            "cancels everything they ordered in this live",
        ],
    ),
    (
        "live_paused",
        [
            "直播暫停落單期間嘅訂單",
            "直播暫停下單期間的訂單",
            "ordered while the live was paused",
        ],
    ),
    (
        "member_restricted",
        [
            "呢位買家嘅訂單要人手確認",
            "這位買家的訂單需人工確認",
            "this buyer's orders wait for staff",
        ],
    ),
    (
        "unknown_author",
        [
            "唔知邊位留言，無法取消",
            "不知道留言者，無法取消",
            "the author is unknown, so nothing can be cancelled",
        ],
    ),
    (
        "processing_failed",
        [
            "處理時出錯，請人手決定",
            "處理時出錯，請人工決定",
            "could not be processed; decide by hand",
        ],
    ),
];

/// A reason code in words, in `lang`, when it is a known one.
pub fn reason_text(lang: PageLang, code: &str) -> Option<&'static str> {
    let column = match lang {
        PageLang::ZhHk => 0,
        PageLang::ZhTw => 1,
        PageLang::En => 2,
    };
    REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, texts)| texts[column])
}

#[cfg(test)]
mod reason_tests {
    use super::*;

    #[test]
    fn every_reason_the_parser_and_the_pipeline_give_has_words_in_each_language() {
        let parser = [
            "unknown_keyword",
            "qty_over_limit",
            "bad_qty",
            "ambiguous_qty",
            "missing_qty",
            "unknown_variant",
            "ambiguous_variant",
            "no_current_product",
            "edit_request",
            "mixed_intent",
            "ambiguous_cancel",
            "cancel_all",
        ];
        let pipeline = [
            "live_paused",
            "member_restricted",
            "unknown_author",
            "processing_failed",
        ];
        for code in parser.iter().chain(&pipeline) {
            for lang in [PageLang::ZhHk, PageLang::ZhTw, PageLang::En] {
                assert!(
                    reason_text(lang, code).is_some_and(|t| !t.is_empty()),
                    "{code}"
                );
            }
        }
        assert_eq!(
            reason_text(PageLang::En, "live_paused"),
            Some("ordered while the live was paused")
        );
        assert_eq!(reason_text(PageLang::En, "made_up"), None);
    }
}
