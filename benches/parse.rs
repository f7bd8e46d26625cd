//! Parser throughput on a mix of realistic comments against the shared catalogue.
//! Run: `cargo bench --bench parse`; criterion reports elements (comments) per second.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plusone::parse::{parse, Catalog, CatalogFile, Limits};

const CATALOG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/corpus/catalog.json"
));

/// (current product, comment), weighted towards what a live sale gets most.
const MIX: &[(Option<&str>, &str)] = &[
    (Some("D50"), "+1"),
    (Some("D50"), "+1"),
    (Some("D50"), "+1"),
    (Some("D50"), "+2"),
    (Some("D50"), "＋１"),
    (Some("D50"), "我都+1"),
    (Some("D50"), "+1🙏"),
    (Some("D50"), "@Jenny Chan +1"),
    (None, "D05+1"),
    (None, "d05 +2"),
    (None, "Ｄ０５＋２"),
    (None, "D50x3"),
    (None, "E21 兩個"),
    (None, "要E21一個"),
    (None, "D05 白色 M碼 x2"),
    (None, "D05灰L+1"),
    (Some("E2"), "綠+1 橙+1"),
    (None, "D50+1，杯+1"),
    (None, "D05 白 S +1 D50 +1"),
    (None, "sold E21 x3"),
    (None, "I want D50"),
    (None, "D50+1 電話 98765432"),
    (None, "D50 $329 +1"),
    (None, "D50+1 送去將軍澳"),
    (None, "取消D50"),
    (Some("D50"), "-1"),
    (None, "D50 幾錢?"),
    (None, "how much SOAP"),
    (None, "好正呀"),
    (None, "主播今日好精神"),
    (None, "🔥🔥🔥"),
    (None, "D99+1"),
    (None, "D05 紫 +1"),
    (None, "D05 改 3件"),
];

fn bench(c: &mut Criterion) {
    let file: CatalogFile = serde_json::from_str(CATALOG).expect("catalog json");
    let cat = Catalog::from(file);
    let limits = Limits::default();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(MIX.len() as u64));
    g.bench_function("mixed_comments", |b| {
        b.iter(|| {
            for &(current, text) in MIX {
                black_box(parse(black_box(text), &cat, current, &limits));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
