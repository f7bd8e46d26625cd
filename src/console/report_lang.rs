//! The live report page's sentences, in zh-HK, zh-TW and en.

use serde::Serialize;

use super::lang::PageLang;

#[derive(Debug, Serialize)]
pub struct ReportTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub back: &'static str,
    pub csv: &'static str,
    pub comments: &'static str,
    pub buyers: &'static str,
    pub orders: &'static str,
    pub pending_payment: &'static str,
    pub paid: &'static str,
    pub fulfilled: &'static str,
    pub cancelled: &'static str,
    pub expired: &'static str,
    pub units: &'static str,
    pub held: &'static str,
    pub ordered: &'static str,
    pub still_held: &'static str,
    pub conversion: &'static str,
    pub held_to_ordered: &'static str,
    pub ordered_to_paid: &'static str,
    pub held_to_paid: &'static str,
    pub revenue: &'static str,
    pub revenue_held: &'static str,
    pub revenue_ordered: &'static str,
    pub revenue_paid: &'static str,
    pub top_products: &'static str,
    pub product: &'static str,
    pub time_to_first_order: &'static str,
    pub no_order_yet: &'static str,
    pub per_minute: &'static str,
    pub per_minute_hint: &'static str,
    pub nothing_yet: &'static str,
    minutes: &'static str,
    seconds: &'static str,
    hours: &'static str,
}

impl ReportTexts {
    pub fn get(lang: PageLang) -> &'static ReportTexts {
        match lang {
            PageLang::ZhHk => &ZH_HK,
            PageLang::ZhTw => &ZH_TW,
            PageLang::En => &EN,
        }
    }

    /// A span such as "1 小時 2 分 5 秒" or "2 min 5 s".
    pub fn duration(&self, ms: i64) -> String {
        let total = ms.max(0) / 1000;
        let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
        let mut parts = Vec::new();
        if h > 0 {
            parts.push(format!("{h} {}", self.hours));
        }
        if h > 0 || m > 0 {
            parts.push(format!("{m} {}", self.minutes));
        }
        parts.push(format!("{s} {}", self.seconds));
        parts.join(" ")
    }
}

const ZH_HK: ReportTexts = ReportTexts {
    title: "直播報告",
    intro: "由第一個留言開始計。「留起」即係留言預留咗嘅件數。",
    back: "返回直播",
    csv: "下載 CSV（Excel）",
    comments: "留言",
    buyers: "買家",
    orders: "訂單",
    pending_payment: "等付款",
    paid: "已付款",
    fulfilled: "已交收",
    cancelled: "已取消",
    expired: "已過期",
    units: "件數",
    held: "留起",
    ordered: "落咗單",
    still_held: "仲留緊",
    conversion: "轉換率",
    held_to_ordered: "留起 → 落單",
    ordered_to_paid: "落單 → 付款",
    held_to_paid: "留起 → 付款",
    revenue: "營業額",
    revenue_held: "留起貨值",
    revenue_ordered: "訂單總額",
    revenue_paid: "已收款",
    top_products: "熱賣貨品",
    product: "貨品",
    time_to_first_order: "第一張訂單用咗",
    no_order_yet: "未有訂單",
    per_minute: "每分鐘訂單",
    per_minute_hint: "由第一個留言嗰分鐘計起。",
    nothing_yet: "未有資料。",
    minutes: "分",
    seconds: "秒",
    hours: "小時",
};

const ZH_TW: ReportTexts = ReportTexts {
    title: "直播報告",
    intro: "從第一則留言開始計算。「保留」是留言預留的件數。",
    back: "回到直播",
    csv: "下載 CSV（Excel）",
    comments: "留言",
    buyers: "買家",
    orders: "訂單",
    pending_payment: "待付款",
    paid: "已付款",
    fulfilled: "已出貨",
    cancelled: "已取消",
    expired: "已逾期",
    units: "件數",
    held: "保留",
    ordered: "已下單",
    still_held: "仍保留中",
    conversion: "轉換率",
    held_to_ordered: "保留 → 下單",
    ordered_to_paid: "下單 → 付款",
    held_to_paid: "保留 → 付款",
    revenue: "營業額",
    revenue_held: "保留貨值",
    revenue_ordered: "訂單總額",
    revenue_paid: "已收款",
    top_products: "熱銷商品",
    product: "商品",
    time_to_first_order: "第一筆訂單花了",
    no_order_yet: "尚無訂單",
    per_minute: "每分鐘訂單",
    per_minute_hint: "從第一則留言那一分鐘算起。",
    nothing_yet: "尚無資料。",
    minutes: "分",
    seconds: "秒",
    hours: "小時",
};

const EN: ReportTexts = ReportTexts {
    title: "Live report",
    intro: "Counted from the first comment. \"Held\" is the units comments reserved.",
    back: "Back to the live",
    csv: "Download CSV (Excel)",
    comments: "Comments",
    buyers: "Buyers",
    orders: "Orders",
    pending_payment: "Awaiting payment",
    paid: "Paid",
    fulfilled: "Fulfilled",
    cancelled: "Cancelled",
    expired: "Expired",
    units: "Units",
    held: "Held",
    ordered: "Ordered",
    still_held: "Still held",
    conversion: "Conversion",
    held_to_ordered: "Held → ordered",
    ordered_to_paid: "Ordered → paid",
    held_to_paid: "Held → paid",
    revenue: "Revenue",
    revenue_held: "Value held",
    revenue_ordered: "Ordered",
    revenue_paid: "Paid",
    top_products: "Top products",
    product: "Product",
    time_to_first_order: "Time to the first order",
    no_order_yet: "No order yet",
    per_minute: "Orders per minute",
    per_minute_hint: "From the minute of the first comment.",
    nothing_yet: "Nothing yet.",
    minutes: "min",
    seconds: "s",
    hours: "h",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let en = ReportTexts::get(PageLang::En);
        assert_eq!(en.duration(5_400), "5 s");
        assert_eq!(en.duration(125_000), "2 min 5 s");
        assert_eq!(en.duration(3_600_000), "1 h 0 min 0 s");
        assert_eq!(
            ReportTexts::get(PageLang::ZhHk).duration(61_000),
            "1 分 1 秒"
        );
    }
}
