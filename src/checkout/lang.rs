//! The checkout page's languages: the shop's default, unless the browser's
//! `Accept-Language` names one we have.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageLang {
    ZhHk,
    ZhTw,
    En,
}

impl PageLang {
    pub fn parse(tag: &str) -> Option<PageLang> {
        let tag = tag.trim().to_ascii_lowercase();
        let parts: Vec<&str> = tag.split(['-', '_']).collect();
        let has = |subtags: &[&str]| parts[1..].iter().any(|p| subtags.contains(p));
        match parts[0] {
            "en" => Some(PageLang::En),
            "yue" => Some(PageLang::ZhHk),
            "zh" if has(&["hk", "mo"]) => Some(PageLang::ZhHk),
            "zh" if has(&["tw", "hant"]) => Some(PageLang::ZhTw),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            PageLang::ZhHk => "zh-HK",
            PageLang::ZhTw => "zh-TW",
            PageLang::En => "en",
        }
    }

    /// The best language the header asks for (by q-value, then order), else `default`.
    /// A bare `zh` counts as the shop's own Chinese when the shop's default is Chinese.
    pub fn negotiate(header: Option<&str>, default: PageLang) -> PageLang {
        let Some(header) = header else {
            return default;
        };
        let mut best: Option<(f32, PageLang)> = None;
        for item in header.split(',') {
            let mut pieces = item.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            let lang = match PageLang::parse(tag) {
                Some(lang) => lang,
                None if tag.eq_ignore_ascii_case("zh") && default != PageLang::En => default,
                None => continue,
            };
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(default, |(_, lang)| lang)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            PageLang::ZhHk => &ZH_HK,
            PageLang::ZhTw => &ZH_TW,
            PageLang::En => &EN,
        }
    }
}

/// Every sentence the checkout pages say.
#[derive(Debug, Serialize)]
pub struct Texts {
    pub title: &'static str,
    pub your_items: &'static str,
    pub total: &'static str,
    pub held_until: &'static str,
    pub time_left: &'static str,
    pub contact: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    pub email: &'static str,
    pub email_optional: &'static str,
    pub receive_by: &'static str,
    pub delivery: &'static str,
    pub pickup: &'static str,
    pub address: &'static str,
    pub pickup_store: &'static str,
    pub pay_by: &'static str,
    pub confirm: &'static str,
    pub choose_option: &'static str,
    pub points: &'static str,
    pub order: &'static str,
    pub status: &'static str,
    pub pay_before: &'static str,
    pub how_to_pay: &'static str,
    pub upload_receipt: &'static str,
    pub upload: &'static str,
    pub receipt_received: &'static str,
    pub pay_online: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub too_many_title: &'static str,
    pub too_many_body: &'static str,
    pub nothing_held: &'static str,
    pub fix_below: &'static str,
    pub err_required: &'static str,
    pub err_too_long: &'static str,
    pub err_phone: &'static str,
    pub err_email: &'static str,
    pub err_choice: &'static str,
    pub err_option_gone: &'static str,
    pub err_receipt_type: &'static str,
    pub err_receipt_size: &'static str,
    pub status_pending_payment: &'static str,
    pub status_paid: &'static str,
    pub status_fulfilled: &'static str,
    pub status_cancelled: &'static str,
    pub status_expired: &'static str,
    pub method_bank_transfer: &'static str,
    pub method_fps: &'static str,
    pub method_payme: &'static str,
    pub method_cash_on_pickup: &'static str,
    pub method_hosted: &'static str,
}

const ZH_HK: Texts = Texts {
    title: "確認訂單",
    your_items: "你保留咗嘅貨品",
    total: "總數",
    held_until: "保留至",
    time_left: "剩餘時間",
    contact: "聯絡資料",
    name: "姓名",
    phone: "電話",
    email: "電郵",
    email_optional: "電郵（可選）",
    receive_by: "取貨方式",
    delivery: "送貨",
    pickup: "門市自取",
    address: "送貨地址",
    pickup_store: "自取門市",
    pay_by: "付款方式",
    confirm: "確認訂單",
    choose_option: "請揀款式",
    points: "你嘅積分",
    order: "訂單",
    status: "狀態",
    pay_before: "請於以下時間前付款",
    how_to_pay: "付款方法",
    upload_receipt: "上載付款收據",
    upload: "上載",
    receipt_received: "已收到你嘅收據，我哋會盡快確認。",
    pay_online: "前往網上付款",
    expired_title: "連結已過期",
    expired_body: "呢個連結已經過期，保留嘅貨品已經釋出。如有疑問請聯絡店主。",
    not_found_title: "搵唔到呢個連結",
    not_found_body: "請檢查連結是否完整，或者聯絡店主。",
    too_many_title: "請稍後再試",
    too_many_body: "太多次嘗試，請一分鐘後再試。",
    nothing_held: "保留時間已過，貨品已經釋出。",
    fix_below: "請更正以下資料。",
    err_required: "必須填寫",
    err_too_long: "太長喇，請縮短",
    err_phone: "請輸入有效電話號碼：香港 8 位數字，其他地區請加國家代碼（例如 +886）",
    err_email: "請輸入有效電郵地址",
    err_choice: "請選擇一項",
    err_option_gone: "呢個款式已經冇貨，請揀另一款",
    err_receipt_type: "只接受 JPEG、PNG 或 WebP 圖片",
    err_receipt_size: "檔案太大",
    status_pending_payment: "等待付款",
    status_paid: "已付款",
    status_fulfilled: "已完成",
    status_cancelled: "已取消",
    status_expired: "已過期（未付款）",
    method_bank_transfer: "銀行轉帳",
    method_fps: "轉數快 FPS",
    method_payme: "PayMe",
    method_cash_on_pickup: "自取時付現金",
    method_hosted: "信用卡／網上付款",
};

const ZH_TW: Texts = Texts {
    title: "確認訂單",
    your_items: "您保留的商品",
    total: "總計",
    held_until: "保留至",
    time_left: "剩餘時間",
    contact: "聯絡資料",
    name: "姓名",
    phone: "電話",
    email: "電子郵件",
    email_optional: "電子郵件（選填）",
    receive_by: "取貨方式",
    delivery: "宅配",
    pickup: "門市自取",
    address: "收件地址",
    pickup_store: "自取門市",
    pay_by: "付款方式",
    confirm: "確認結帳",
    choose_option: "請選擇規格",
    points: "您的點數",
    order: "訂單",
    status: "狀態",
    pay_before: "請於以下時間前完成付款",
    how_to_pay: "付款說明",
    upload_receipt: "上傳付款證明",
    upload: "上傳",
    receipt_received: "已收到您的付款證明，我們會儘快確認。",
    pay_online: "前往線上付款",
    expired_title: "連結已失效",
    expired_body: "此連結已失效，保留的商品已釋出。如有問題請聯絡賣家。",
    not_found_title: "找不到此連結",
    not_found_body: "請確認連結是否完整，或聯絡賣家。",
    too_many_title: "請稍後再試",
    too_many_body: "嘗試次數過多，請一分鐘後再試。",
    nothing_held: "保留時間已過，商品已釋出。",
    fix_below: "請修正以下欄位。",
    err_required: "此欄必填",
    err_too_long: "內容過長，請縮短",
    err_phone: "請輸入有效的電話號碼，請加國碼（例如 +886 912 345 678）",
    err_email: "請輸入有效的電子郵件",
    err_choice: "請選擇一項",
    err_option_gone: "此規格已售完，請選擇其他規格",
    err_receipt_type: "僅接受 JPEG、PNG 或 WebP 圖片",
    err_receipt_size: "檔案過大",
    status_pending_payment: "待付款",
    status_paid: "已付款",
    status_fulfilled: "已完成",
    status_cancelled: "已取消",
    status_expired: "已逾期（未付款）",
    method_bank_transfer: "銀行轉帳",
    method_fps: "FPS 轉數快",
    method_payme: "PayMe",
    method_cash_on_pickup: "取貨付現",
    method_hosted: "信用卡／線上付款",
};

const EN: Texts = Texts {
    title: "Confirm your order",
    your_items: "Your held items",
    total: "Total",
    held_until: "Held until",
    time_left: "Time left",
    contact: "Contact details",
    name: "Name",
    phone: "Phone",
    email: "Email",
    email_optional: "Email (optional)",
    receive_by: "How you receive it",
    delivery: "Delivery",
    pickup: "Pick up in store",
    address: "Delivery address",
    pickup_store: "Pickup store",
    pay_by: "Payment method",
    confirm: "Confirm order",
    choose_option: "Choose an option",
    points: "Your points",
    order: "Order",
    status: "Status",
    pay_before: "Please pay before",
    how_to_pay: "How to pay",
    upload_receipt: "Upload your payment receipt",
    upload: "Upload",
    receipt_received: "We have your receipt and will confirm soon.",
    pay_online: "Pay online",
    expired_title: "This link has expired",
    expired_body: "The hold on these items ended and they went back on sale. Please contact the shop if you have questions.",
    not_found_title: "We could not find this link",
    not_found_body: "Please check the link is complete, or contact the shop.",
    too_many_title: "Please try again later",
    too_many_body: "Too many attempts. Please try again in a minute.",
    nothing_held: "The hold ended and the items went back on sale.",
    fix_below: "Please correct the fields below.",
    err_required: "Required",
    err_too_long: "Too long; please shorten it",
    err_phone: "Enter a valid phone number: 8 digits for Hong Kong, otherwise with the country code (such as +886)",
    err_email: "Enter a valid email address",
    err_choice: "Choose one",
    err_option_gone: "That option is sold out; please choose another",
    err_receipt_type: "Only JPEG, PNG or WebP images",
    err_receipt_size: "The file is too large",
    status_pending_payment: "Waiting for payment",
    status_paid: "Paid",
    status_fulfilled: "Completed",
    status_cancelled: "Cancelled",
    status_expired: "Expired (unpaid)",
    method_bank_transfer: "Bank transfer",
    method_fps: "FPS",
    method_payme: "PayMe",
    method_cash_on_pickup: "Cash on pickup",
    method_hosted: "Card / online payment",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_supported_language_wins() {
        let hk = PageLang::ZhHk;
        assert_eq!(PageLang::negotiate(None, hk), hk);
        assert_eq!(
            PageLang::negotiate(Some("en-US,en;q=0.9"), hk),
            PageLang::En
        );
        assert_eq!(
            PageLang::negotiate(Some("zh-TW,zh;q=0.9,en;q=0.8"), hk),
            PageLang::ZhTw
        );
        assert_eq!(
            PageLang::negotiate(Some("fr;q=1, zh-HK;q=0.5, en;q=0.4"), PageLang::En),
            hk
        );
        assert_eq!(PageLang::negotiate(Some("zh-Hant-TW"), hk), PageLang::ZhTw);
        assert_eq!(
            PageLang::negotiate(Some("fr, de"), PageLang::ZhTw),
            PageLang::ZhTw
        );
        assert_eq!(
            PageLang::negotiate(Some("zh"), PageLang::ZhTw),
            PageLang::ZhTw
        );
        assert_eq!(PageLang::negotiate(Some("en;q=0"), hk), hk);
    }
}
