//! The demo shop: sandbox products with variants and prices, and a sandbox live selling
//! them with a product on screen, so a newcomer can type `A01+1` at once.

use crate::store::{
    Binding, LineupEntry, LiveState, NewLive, NewProduct, NewSku, Store, StoreError, StoreResult,
    SANDBOX,
};

/// The demo live's title; a second call finds the live by it.
pub const TITLE: &str = "Demo live 示範直播";

/// What a demo call answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoShop {
    pub live_id: i64,
    /// False when a demo live that has not ended was there already.
    pub created: bool,
}

struct DemoProduct {
    keyword: &'static str,
    code: &'static str,
    name: &'static str,
    price: i64,
    skus: &'static [(&'static str, &'static [&'static str], i64)],
}

const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        keyword: "A01",
        code: "DEMO-A01",
        name: "碎花連身裙 Floral midi dress",
        price: 29_900,
        skus: &[
            ("DEMO-A01-BLK-S", &["黑", "S"], 4),
            ("DEMO-A01-BLK-M", &["黑", "M"], 4),
            ("DEMO-A01-BLK-L", &["黑", "L"], 4),
            ("DEMO-A01-RED-S", &["紅", "S"], 4),
            ("DEMO-A01-RED-M", &["紅", "M"], 4),
            ("DEMO-A01-RED-L", &["紅", "L"], 4),
        ],
    },
    DemoProduct {
        keyword: "A02",
        code: "DEMO-A02",
        name: "針織開衫 Knit cardigan",
        price: 39_900,
        skus: &[("DEMO-A02-CRM", &["米"], 10), ("DEMO-A02-GRY", &["灰"], 10)],
    },
    DemoProduct {
        keyword: "A03",
        code: "DEMO-A03",
        name: "真絲絲巾 Silk scarf",
        price: 12_900,
        skus: &[("DEMO-A03", &[], 30)],
    },
    DemoProduct {
        keyword: "B01",
        code: "DEMO-B01",
        name: "皮革手袋 Leather tote",
        price: 59_900,
        skus: &[("DEMO-B01", &[], 3)],
    },
];

/// Makes the demo shop, or finds it: the products are made once (and kept), and the
/// live is made unless a demo live that has not ended exists, which a seller pressing
/// the button twice expects to get back rather than a second copy.
pub async fn create(store: &Store) -> StoreResult<DemoShop> {
    for product in PRODUCTS {
        ensure_product(store, product).await?;
    }
    if let Some(live_id) = store.open_sandbox_live(TITLE).await? {
        return Ok(DemoShop {
            live_id,
            created: false,
        });
    }
    let live = store
        .create_live(&NewLive {
            title: TITLE.into(),
            state: LiveState::Live,
            current: Some(PRODUCTS[0].keyword.into()),
            hold_ttl_seconds: 1800,
            waitlist: true,
            limit_per_member: None,
            bindings: vec![Binding {
                platform: SANDBOX.into(),
                page_id: super::PAGE_ID.into(),
                object_id: super::new_object_id(),
            }],
            lineup: PRODUCTS
                .iter()
                .map(|p| LineupEntry {
                    keyword: p.keyword.into(),
                    code: p.code.into(),
                })
                .collect(),
        })
        .await?;
    Ok(DemoShop {
        live_id: live.id,
        created: true,
    })
}

async fn ensure_product(store: &Store, product: &DemoProduct) -> StoreResult<()> {
    if let Some(found) = store.product_by_code(product.code).await? {
        return check_sandbox(found.sandbox, product.code);
    }
    let made = store
        .create_product(&NewProduct {
            code: product.code.into(),
            name: product.name.into(),
            price: product.price,
            currency: "HKD".into(),
            skus: product
                .skus
                .iter()
                .map(|(sku, options, on_hand)| NewSku {
                    sku: (*sku).into(),
                    options: options.iter().map(|o| o.to_string()).collect(),
                    on_hand: *on_hand,
                })
                .collect(),
            sandbox: true,
            aliases: Vec::new(),
        })
        .await;
    match made {
        Ok(_) => Ok(()),
        // Another call made it first.
        Err(StoreError::Conflict { .. }) => match store.product_by_code(product.code).await? {
            Some(found) => check_sandbox(found.sandbox, product.code),
            None => Err(StoreError::Invariant(format!(
                "demo product {} conflicts with another product's SKU",
                product.code
            ))),
        },
        Err(err) => Err(err),
    }
}

fn check_sandbox(sandbox: bool, code: &str) -> StoreResult<()> {
    if sandbox {
        Ok(())
    } else {
        Err(StoreError::Invariant(format!(
            "a real product already has the demo code {code}"
        )))
    }
}
