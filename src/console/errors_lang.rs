//! The console's sentences for refusals the API words in English: each is found by the
//! error's `code` and, where one code covers several fields, its `field` detail. A
//! `{value}` in a sentence is the error's `value` detail (a keyword, a product code).
//! A refusal with no sentence here shows the API's own message.

use super::lang::PageLang;

/// (code, field, [zh-HK, zh-TW, en]).
const SENTENCES: &[(&str, &str, [&str; 3])] = &[
    (
        "invalid_live",
        "title",
        [
            "請輸入直播名稱。",
            "請輸入直播名稱。",
            "Give the live a title.",
        ],
    ),
    (
        "invalid_live",
        "hold_ttl_seconds",
        [
            "保留時間要係 1 分鐘至 7 日之間嘅分鐘數。",
            "保留時間須為 1 分鐘至 7 天之間的分鐘數。",
            "The hold time is a number of minutes, from 1 minute to 7 days.",
        ],
    ),
    (
        "invalid_live",
        "limit_per_member",
        [
            "每位買家上限要係 1 或以上嘅數字。",
            "每位買家上限須為 1 以上的數字。",
            "The limit per buyer is a number, 1 or more.",
        ],
    ),
    (
        "invalid_platform",
        "platform",
        [
            "平台要係 Facebook、Instagram 或 Telegram。",
            "平台須為 Facebook、Instagram 或 Telegram。",
            "The platform is Facebook, Instagram or Telegram.",
        ],
    ),
    (
        "invalid_binding",
        "object_id",
        [
            "請填寫專頁 ID 同直播或帖文 ID。",
            "請填寫粉專 ID 與直播或貼文 ID。",
            "Give the Page id and the live video or post id.",
        ],
    ),
    (
        "invalid_lineup",
        "keyword",
        [
            "關鍵字唔可以留空。",
            "關鍵字不可空白。",
            "A lineup keyword cannot be blank.",
        ],
    ),
    (
        "invalid_lineup",
        "duplicate",
        [
            "關鍵字「{value}」喺貨品清單出現咗兩次。",
            "關鍵字「{value}」在商品清單中出現兩次。",
            "The keyword “{value}” appears twice in the lineup.",
        ],
    ),
    (
        "unknown_product",
        "code",
        [
            "搵唔到貨品編號「{value}」。",
            "找不到商品編號「{value}」。",
            "No product has the code “{value}”.",
        ],
    ),
    (
        "invalid_current",
        "current",
        [
            "「{value}」唔喺呢場直播嘅貨品清單入面。",
            "「{value}」不在這場直播的商品清單中。",
            "“{value}” is not a keyword of this live's lineup.",
        ],
    ),
    (
        "not_sandbox_product",
        "code",
        [
            "「{value}」係真實店舖嘅貨品；試玩直播只可以賣試玩貨品。",
            "「{value}」是真實商店的商品；試玩直播只能賣試玩商品。",
            "“{value}” is a product of the real shop; a sandbox live sells sandbox products only.",
        ],
    ),
    (
        "sandbox_product",
        "code",
        [
            "「{value}」係試玩貨品，只可以喺試玩直播賣。",
            "「{value}」是試玩商品，只能在試玩直播販售。",
            "“{value}” is a sandbox product; only a sandbox live sells it.",
        ],
    ),
    (
        "not_sandbox",
        "",
        [
            "呢場唔係試玩直播：佢嘅留言來自平台。",
            "這場不是試玩直播：它的留言來自平台。",
            "This is not a sandbox live: its comments come from its platform.",
        ],
    ),
    (
        "live_ended",
        "",
        [
            "呢場直播已經完結，唔再收留言。",
            "這場直播已結束，不再接收留言。",
            "This live has ended; it takes no more comments.",
        ],
    ),
    (
        "invalid_viewer",
        "viewer_id",
        [
            "觀眾 ID 要係 1 至 64 個英文字母、數字或 - _ . :",
            "觀眾 ID 須為 1 至 64 個英文字母、數字或 - _ . :",
            "The viewer id is 1 to 64 letters, digits, -, _, . or :",
        ],
    ),
    (
        "invalid_viewer",
        "viewer_name",
        [
            "觀眾名稱要係 1 至 100 個字。",
            "觀眾名稱須為 1 至 100 個字。",
            "The viewer name is 1 to 100 characters.",
        ],
    ),
    (
        "invalid_text",
        "text",
        [
            "留言要係 1 至 2000 個字。",
            "留言須為 1 至 2000 個字。",
            "A comment is 1 to 2000 characters.",
        ],
    ),
    (
        "invalid_storm",
        "",
        [
            "留言數目同觀眾人數超出範圍。",
            "留言數量與觀眾人數超出範圍。",
            "The number of comments or viewers is out of range.",
        ],
    ),
    (
        "invalid_state",
        "state",
        [
            "狀態要係未開始、直播中、暫停落單或已結束。",
            "狀態須為未開始、直播中、暫停下單或已結束。",
            "The state is scheduled, live, paused or ended.",
        ],
    ),
    (
        "unavailable",
        "",
        [
            "暫時儲存唔到，請再試一次。",
            "暫時無法儲存，請再試一次。",
            "It could not be stored just now; try again.",
        ],
    ),
];

/// The sentence for a refusal in `lang`, when the table has one.
pub fn sentence(lang: PageLang, code: &str, field: &str, value: &str) -> Option<String> {
    let column = match lang {
        PageLang::ZhHk => 0,
        PageLang::ZhTw => 1,
        PageLang::En => 2,
    };
    SENTENCES
        .iter()
        .find(|(c, f, _)| *c == code && *f == field)
        .map(|(_, _, texts)| texts[column].replace("{value}", value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_its_own_sentence_with_the_value_in_it() {
        let hk = sentence(PageLang::ZhHk, "unknown_product", "code", "A01").unwrap();
        let tw = sentence(PageLang::ZhTw, "unknown_product", "code", "A01").unwrap();
        let en = sentence(PageLang::En, "unknown_product", "code", "A01").unwrap();
        assert_eq!(hk, "搵唔到貨品編號「A01」。");
        assert_eq!(tw, "找不到商品編號「A01」。");
        assert_eq!(en, "No product has the code “A01”.");
        assert_eq!(sentence(PageLang::En, "invalid_live", "colour", ""), None);
    }

    #[test]
    fn every_entry_is_written_in_all_three_and_found_once() {
        for (i, (code, field, texts)) in SENTENCES.iter().enumerate() {
            assert!(texts.iter().all(|t| !t.is_empty()), "{code}/{field}");
            let wants_value = texts[2].contains("{value}");
            assert!(
                texts.iter().all(|t| t.contains("{value}") == wants_value),
                "{code}/{field}"
            );
            assert!(
                !SENTENCES[..i]
                    .iter()
                    .any(|(c, f, _)| c == code && f == field),
                "{code}/{field} twice"
            );
        }
    }
}
