//! The products, product and CSV import pages' sentences, in zh-HK, zh-TW and en.

use serde::Serialize;

use super::lang::PageLang;
use crate::catalogue_import::Problem;

#[derive(Debug, Serialize)]
pub struct CatalogueTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub none: &'static str,
    pub import_link: &'static str,
    pub export_link: &'static str,
    pub manage: &'static str,
    pub sandbox: &'static str,
    pub sku: &'static str,
    pub options: &'static str,
    pub no_options: &'static str,
    pub on_hand: &'static str,
    pub held: &'static str,
    pub available: &'static str,
    pub waitlist: &'static str,
    pub aliases: &'static str,
    pub price: &'static str,
    pub details: &'static str,
    pub name: &'static str,
    pub price_label: &'static str,
    pub aliases_label: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub stock: &'static str,
    pub delta: &'static str,
    pub reason: &'static str,
    pub reason_hint: &'static str,
    pub adjust: &'static str,
    pub adjusted: &'static str,
    pub movements: &'static str,
    pub no_movements: &'static str,
    pub when: &'static str,
    pub change: &'static str,
    pub back: &'static str,
    pub err_name: &'static str,
    pub err_price: &'static str,
    pub err_aliases: &'static str,
    pub err_alias_taken: &'static str,
    pub err_delta: &'static str,
    pub err_reason: &'static str,
    pub err_not_enough: &'static str,
    pub err_no_product: &'static str,
    pub import_title: &'static str,
    pub import_intro: &'static str,
    pub columns_help: &'static str,
    pub file: &'static str,
    pub preview: &'static str,
    pub preview_title: &'static str,
    pub created: &'static str,
    pub updated: &'static str,
    pub unchanged: &'static str,
    pub errors_title: &'static str,
    pub row: &'static str,
    pub column: &'static str,
    pub problem: &'static str,
    pub fix_and_upload: &'static str,
    pub confirm: &'static str,
    pub confirm_hint: &'static str,
    pub imported: &'static str,
    pub err_no_file: &'static str,
    pub err_too_many: &'static str,
    pub err_stock_changed: &'static str,
    kind_receive: &'static str,
    kind_adjust: &'static str,
    kind_reserve: &'static str,
    kind_release: &'static str,
    kind_sale: &'static str,
    kind_return: &'static str,
}

impl CatalogueTexts {
    pub fn get(lang: PageLang) -> &'static CatalogueTexts {
        match lang {
            PageLang::ZhHk => &ZH_HK,
            PageLang::ZhTw => &ZH_TW,
            PageLang::En => &EN,
        }
    }

    /// A movement's kind, as the ledger names it.
    pub fn kind(&self, kind: &str) -> String {
        match kind {
            "receive" => self.kind_receive,
            "adjust" => self.kind_adjust,
            "reserve" => self.kind_reserve,
            "release" => self.kind_release,
            "sale" => self.kind_sale,
            "return" => self.kind_return,
            other => other,
        }
        .to_string()
    }
}

/// A row error's problem in the page's language.
pub fn problem_text(lang: PageLang, problem: &Problem) -> String {
    use PageLang::{En, ZhHk, ZhTw};
    match (problem, lang) {
        (Problem::Missing, ZhHk) => "要填".into(),
        (Problem::Missing, ZhTw) => "必須填寫".into(),
        (Problem::Missing, En) => "needs a value".into(),
        (Problem::TooLong { max }, ZhHk | ZhTw) => format!("最多 {max} 個字"),
        (Problem::TooLong { max }, En) => format!("at most {max} characters"),
        (Problem::NotWholeNumber, ZhHk) => "要係整數（價錢以「仙」計：$12.50 寫 1250）".into(),
        (Problem::NotWholeNumber, ZhTw) => "必須是整數（價格以最小單位計：$12.50 寫 1250）".into(),
        (Problem::NotWholeNumber, En) => {
            "must be a whole number (prices in minor units: 12.50 is 1250)".into()
        }
        (Problem::OutOfRange { max }, ZhHk) => format!("要喺 0 至 {max} 之間"),
        (Problem::OutOfRange { max }, ZhTw) => format!("必須介於 0 到 {max}"),
        (Problem::OutOfRange { max }, En) => format!("must be from 0 to {max}"),
        (Problem::Currency, ZhHk) => "要係三個字母嘅貨幣代碼，例如 HKD".into(),
        (Problem::Currency, ZhTw) => "必須是三個字母的幣別代碼，例如 TWD".into(),
        (Problem::Currency, En) => "must be a three-letter code such as HKD or TWD".into(),
        (Problem::DuplicateSku { first_row }, ZhHk) => {
            format!("呢個 SKU 喺第 {first_row} 行已經有")
        }
        (Problem::DuplicateSku { first_row }, ZhTw) => {
            format!("這個 SKU 已在第 {first_row} 列出現")
        }
        (Problem::DuplicateSku { first_row }, En) => {
            format!("this SKU is already on row {first_row}")
        }
        (Problem::Differs { first_row }, ZhHk) => {
            format!("同一貨品嘅第一行（第 {first_row} 行）唔一樣")
        }
        (Problem::Differs { first_row }, ZhTw) => {
            format!("與同一商品的第一列（第 {first_row} 列）不同")
        }
        (Problem::Differs { first_row }, En) => {
            format!("differs from row {first_row}, the product's first row")
        }
        (Problem::SkuOfOtherProduct { code }, ZhHk) => format!("呢個 SKU 屬於貨品 {code}"),
        (Problem::SkuOfOtherProduct { code }, ZhTw) => format!("這個 SKU 屬於商品 {code}"),
        (Problem::SkuOfOtherProduct { code }, En) => format!("this SKU belongs to product {code}"),
        (Problem::Sandbox, ZhHk) => "屬於練習用嘅示範店".into(),
        (Problem::Sandbox, ZhTw) => "屬於練習用的示範商店".into(),
        (Problem::Sandbox, En) => "belongs to the sandbox's demo shop".into(),
        (Problem::AliasRepeats { alias }, ZhHk) => {
            format!("別名「{alias}」同貨品編號或者另一個別名重複")
        }
        (Problem::AliasRepeats { alias }, ZhTw) => {
            format!("別名「{alias}」與商品代碼或其他別名重複")
        }
        (Problem::AliasRepeats { alias }, En) => {
            format!("alias {alias} repeats the product's code or another of its aliases")
        }
        (Problem::AliasTaken { word, code }, ZhHk) => format!("「{word}」已經係貨品 {code} 嘅名"),
        (Problem::AliasTaken { word, code }, ZhTw) => format!("「{word}」已是商品 {code} 的名稱"),
        (Problem::AliasTaken { word, code }, En) => format!("{word} already names product {code}"),
        (Problem::BelowHeld { held }, ZhHk) => {
            format!("已經有 {held} 件留咗俾客，現貨唔可以少過呢個數")
        }
        (Problem::BelowHeld { held }, ZhTw) => {
            format!("已有 {held} 件保留給買家，庫存不能低於此數")
        }
        (Problem::BelowHeld { held }, En) => {
            format!("{held} units are held for buyers; on hand cannot go below that")
        }
        (Problem::MissingColumn, ZhHk) => "標題行冇呢一欄".into(),
        (Problem::MissingColumn, ZhTw) => "標題列缺少這一欄".into(),
        (Problem::MissingColumn, En) => "the header lacks this column".into(),
        (Problem::UnknownColumn, ZhHk) => "唔認識呢一欄".into(),
        (Problem::UnknownColumn, ZhTw) => "無法辨識這一欄".into(),
        (Problem::UnknownColumn, En) => "unknown column".into(),
        (Problem::DuplicateColumn, ZhHk) => "標題行有兩次呢一欄".into(),
        (Problem::DuplicateColumn, ZhTw) => "標題列重複了這一欄".into(),
        (Problem::DuplicateColumn, En) => "this column is in the header twice".into(),
        (Problem::NotUtf8, ZhHk) => "檔案唔係 UTF-8：喺 Excel 揀「CSV UTF-8」再儲存".into(),
        (Problem::NotUtf8, ZhTw) => "檔案不是 UTF-8：請在 Excel 選「CSV UTF-8」另存".into(),
        (Problem::NotUtf8, En) => "the file is not UTF-8; save it as \"CSV UTF-8\"".into(),
        (Problem::Malformed, ZhHk) => "呢行讀唔到".into(),
        (Problem::Malformed, ZhTw) => "無法讀取這一列".into(),
        (Problem::Malformed, En) => "this row could not be read as CSV".into(),
        (Problem::Empty, ZhHk) => "檔案係空嘅：第一行要寫欄名".into(),
        (Problem::Empty, ZhTw) => "檔案是空的：第一列須為欄位名稱".into(),
        (Problem::Empty, En) => "the file is empty; the first row names the columns".into(),
    }
}

const ZH_HK: CatalogueTexts = CatalogueTexts {
    title: "貨品",
    intro: "每件貨品同佢嘅款式（SKU）：現貨、留貨中、可賣同輪候數。",
    none: "未有貨品。可以匯入 CSV。",
    import_link: "匯入 CSV",
    export_link: "匯出 CSV",
    manage: "管理",
    sandbox: "練習",
    sku: "SKU",
    options: "款式",
    no_options: "單一款式",
    on_hand: "現貨",
    held: "留貨中",
    available: "可賣",
    waitlist: "輪候",
    aliases: "別名",
    price: "價錢",
    details: "資料",
    name: "名稱",
    price_label: "價錢（以「仙」計：12500 即 HK$125.00）",
    aliases_label: "別名（用逗號分隔）",
    save: "儲存",
    saved: "已儲存。",
    stock: "存貨",
    delta: "加減數量（入貨寫正數，減貨寫負數）",
    reason: "原因",
    reason_hint: "例如：入貨、盤點、損壞",
    adjust: "調整存貨",
    adjusted: "存貨已調整。",
    movements: "存貨紀錄",
    no_movements: "未有紀錄。",
    when: "時間",
    change: "變動",
    back: "返回貨品",
    err_name: "名稱要 1 至 200 個字。",
    err_price: "價錢要係 0 至 1000000000 之間嘅整數（以「仙」計）。",
    err_aliases: "別名每個 1 至 32 個字，唔可以同編號或者其他別名重複。",
    err_alias_taken: "有個別名已經係另一件貨品嘅名。",
    err_delta: "加減數量要係非零整數，最多 1000000。",
    err_reason: "請寫低原因（1 至 200 字）。",
    err_not_enough: "減唔到咁多：留咗俾客嘅唔可以減。",
    err_no_product: "搵唔到呢件貨品。",
    import_title: "匯入 CSV",
    import_intro: "上載 Excel 嘅 CSV（UTF-8）。每行一個 SKU；會先檢查晒所有行，確認之後先會一次過寫入。",
    columns_help: "欄位：code, name, option1, option2, option3, sku, price, currency, aliases, on_hand。price 以「仙」計（12500 即 HK$125.00）；aliases 用 | 分隔；on_hand 係新嘅現貨數（留空即唔改）。第 1 行係標題行。",
    file: "CSV 檔案",
    preview: "預覽",
    preview_title: "預覽",
    created: "新增",
    updated: "更改",
    unchanged: "不變",
    errors_title: "有問題嘅行",
    row: "行",
    column: "欄",
    problem: "問題",
    fix_and_upload: "改好檔案再上載。未確認之前乜都唔會寫入。",
    confirm: "確認匯入",
    confirm_hint: "確認之後會一次過寫入所有行。",
    imported: "已匯入。",
    err_no_file: "請揀一個 CSV 檔案。",
    err_too_many: "檔案太多行（最多 5000 行貨品），請分開幾個檔案。",
    err_stock_changed: "匯入期間有客留貨，現貨唔夠；乜都冇寫入，請再預覽一次。",
    kind_receive: "入貨",
    kind_adjust: "調整",
    kind_reserve: "留貨",
    kind_release: "放返",
    kind_sale: "賣出",
    kind_return: "退貨",
};

const ZH_TW: CatalogueTexts = CatalogueTexts {
    title: "商品",
    intro: "每項商品與其規格（SKU）：庫存、保留中、可售與候補數量。",
    none: "尚無商品。可以匯入 CSV。",
    import_link: "匯入 CSV",
    export_link: "匯出 CSV",
    manage: "管理",
    sandbox: "練習",
    sku: "SKU",
    options: "規格",
    no_options: "單一規格",
    on_hand: "庫存",
    held: "保留中",
    available: "可售",
    waitlist: "候補",
    aliases: "別名",
    price: "價格",
    details: "資料",
    name: "名稱",
    price_label: "價格（以最小單位計：12500 即 NT$125.00）",
    aliases_label: "別名（以逗號分隔）",
    save: "儲存",
    saved: "已儲存。",
    stock: "庫存",
    delta: "增減數量（進貨填正數，減少填負數）",
    reason: "原因",
    reason_hint: "例如：進貨、盤點、損壞",
    adjust: "調整庫存",
    adjusted: "庫存已調整。",
    movements: "庫存紀錄",
    no_movements: "尚無紀錄。",
    when: "時間",
    change: "變動",
    back: "返回商品",
    err_name: "名稱須為 1 至 200 字。",
    err_price: "價格須為 0 至 1000000000 的整數（以最小單位計）。",
    err_aliases: "每個別名 1 至 32 字，不可與代碼或其他別名重複。",
    err_alias_taken: "有別名已是其他商品的名稱。",
    err_delta: "增減數量須為非零整數，最多 1000000。",
    err_reason: "請填寫原因（1 至 200 字）。",
    err_not_enough: "無法減少這麼多：保留給買家的數量不能扣除。",
    err_no_product: "找不到這項商品。",
    import_title: "匯入 CSV",
    import_intro: "上傳 Excel 的 CSV（UTF-8）。每列一個 SKU；會先檢查所有列，確認後才一次寫入。",
    columns_help: "欄位：code, name, option1, option2, option3, sku, price, currency, aliases, on_hand。price 以最小單位計（12500 即 NT$125.00）；aliases 以 | 分隔；on_hand 是新的庫存數（留空則不變）。第 1 列是標題列。",
    file: "CSV 檔案",
    preview: "預覽",
    preview_title: "預覽",
    created: "新增",
    updated: "更新",
    unchanged: "不變",
    errors_title: "有問題的列",
    row: "列",
    column: "欄",
    problem: "問題",
    fix_and_upload: "修正檔案後再上傳。確認之前不會寫入任何資料。",
    confirm: "確認匯入",
    confirm_hint: "確認後會一次寫入所有列。",
    imported: "已匯入。",
    err_no_file: "請選擇一個 CSV 檔案。",
    err_too_many: "檔案列數太多（最多 5000 列商品），請分成多個檔案。",
    err_stock_changed: "匯入期間有買家保留商品，庫存不足；未寫入任何資料，請重新預覽。",
    kind_receive: "進貨",
    kind_adjust: "調整",
    kind_reserve: "保留",
    kind_release: "釋出",
    kind_sale: "售出",
    kind_return: "退回",
};

const EN: CatalogueTexts = CatalogueTexts {
    title: "Products",
    intro: "Each product and its variants (SKUs): on hand, held, available and waiting.",
    none: "No products yet. Import a CSV file.",
    import_link: "Import CSV",
    export_link: "Export CSV",
    manage: "Manage",
    sandbox: "sandbox",
    sku: "SKU",
    options: "Options",
    no_options: "one variant",
    on_hand: "On hand",
    held: "Held",
    available: "Available",
    waitlist: "Waitlist",
    aliases: "Aliases",
    price: "Price",
    details: "Details",
    name: "Name",
    price_label: "Price (minor units: 12500 is HK$125.00)",
    aliases_label: "Aliases (separated by commas)",
    save: "Save",
    saved: "Saved.",
    stock: "Stock",
    delta: "Change (positive to receive, negative to remove)",
    reason: "Reason",
    reason_hint: "e.g. delivery, count, damaged",
    adjust: "Adjust stock",
    adjusted: "Stock adjusted.",
    movements: "Movements",
    no_movements: "No movements yet.",
    when: "When",
    change: "Change",
    back: "Back to products",
    err_name: "The name must be 1 to 200 characters.",
    err_price: "The price must be a whole number from 0 to 1000000000 (minor units).",
    err_aliases: "Each alias is 1 to 32 characters and repeats neither the code nor another alias.",
    err_alias_taken: "An alias already names another product.",
    err_delta: "The change must be a non-zero whole number, at most 1000000 either way.",
    err_reason: "Write a reason (1 to 200 characters).",
    err_not_enough: "Cannot remove that many: units held for buyers stay.",
    err_no_product: "No such product.",
    import_title: "Import CSV",
    import_intro: "Upload a CSV file from Excel (UTF-8). One row per SKU; every row is checked first, and nothing is written until you confirm, then all of it at once.",
    columns_help: "Columns: code, name, option1, option2, option3, sku, price, currency, aliases, on_hand. price is in minor units (12500 is HK$125.00); aliases are separated by |; on_hand is the new level (empty leaves it). Row 1 is the header.",
    file: "CSV file",
    preview: "Preview",
    preview_title: "Preview",
    created: "Created",
    updated: "Updated",
    unchanged: "Unchanged",
    errors_title: "Rows with problems",
    row: "Row",
    column: "Column",
    problem: "Problem",
    fix_and_upload: "Fix the file and upload it again. Nothing is written before you confirm.",
    confirm: "Confirm import",
    confirm_hint: "Confirming writes every row at once.",
    imported: "Imported.",
    err_no_file: "Choose a CSV file.",
    err_too_many: "The file has too many rows (at most 5,000 products); split it.",
    err_stock_changed: "Buyers held units while importing, more than the file's on hand; nothing was written. Preview again.",
    kind_receive: "received",
    kind_adjust: "adjusted",
    kind_reserve: "held",
    kind_release: "released",
    kind_sale: "sold",
    kind_return: "returned",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_says_every_text() {
        for lang in [PageLang::ZhHk, PageLang::ZhTw, PageLang::En] {
            let value = serde_json::to_value(CatalogueTexts::get(lang)).unwrap();
            for (key, text) in value.as_object().unwrap() {
                assert!(!text.as_str().unwrap().is_empty(), "{lang:?} {key}");
            }
            assert_ne!(CatalogueTexts::get(lang).kind("sale"), "sale");
            assert!(!problem_text(lang, &Problem::BelowHeld { held: 2 }).is_empty());
        }
    }
}
