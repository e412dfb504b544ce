//! Search answers alike from both stores: random Arabic and English titles,
//! spelled with and without diacritics, alef forms, ta marbuta and Arabic
//! digits, searched by random words and prefixes. The memory store ranks
//! every active service; DynamoDB reads one partition of its word index.
//! Runs when DynamoDB Local is up (`AWS_ENDPOINT_URL_DYNAMODB`).

use khamsa_app::memory::MemoryStore;
use khamsa_app::ports::{PageReq, ServiceQuery, Store, UnitOfWork, Write};
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{ServiceId, UserId};
use khamsa_domain::money::Money;
use khamsa_domain::search::SearchQuery;
use khamsa_domain::service::{Service, ServiceDraft, ServiceStatus};
use khamsa_testkit::aws::TestTable;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Each word in the spellings the rules fold together.
const WORDS: &[&[&str]] = &[
    &["تصميم", "تَصْمِيم", "تصـميم"],
    &["شعار", "شِعار"],
    &["ترجمة", "ترجمه"],
    &["إعلان", "اعلان", "أعلان"],
    &["مستشفى", "مستشفي"],
    &["التسويق", "التَّسويق"],
    &["آلة", "الة"],
    &["٣", "3"],
    &["١٠", "10"],
    &["logo", "LOGO", "Logo"],
    &["design", "Design"],
    &["video", "VIDEO"],
    &["translate", "Translate"],
    &["3d", "3D"],
];

fn word() -> impl Strategy<Value = (usize, usize)> {
    (0..WORDS.len(), 0..3usize)
}

fn spell((w, v): (usize, usize)) -> &'static str {
    WORDS[w][v % WORDS[w].len()]
}

/// A query word: a spelling of a word, whole or cut to a prefix.
fn query_word() -> impl Strategy<Value = String> {
    (word(), 1..6usize).prop_map(|(w, cut)| {
        let s = spell(w);
        let n = s.chars().count();
        s.chars().take(cut.max(2).min(n)).collect()
    })
}

/// A word of `WORDS` in one of its spellings.
type Spelt = (usize, usize);

#[derive(Debug, Clone)]
struct Case {
    /// Title words, description words, active.
    services: Vec<(Vec<Spelt>, Vec<Spelt>, bool)>,
    queries: Vec<Vec<String>>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(
            (
                prop::collection::vec(word(), 1..5),
                prop::collection::vec(word(), 0..5),
                prop::bool::weighted(0.8),
            ),
            1..14,
        ),
        prop::collection::vec(prop::collection::vec(query_word(), 1..3), 1..6),
    )
        .prop_map(|(services, queries)| Case { services, queries })
}

fn service(case: usize, i: usize, title: &str, description: &str, active: bool) -> Service {
    let at = Timestamp(1_800_000_000_000 + (case * 100 + i) as i64);
    Service {
        id: ServiceId::new(format!("s{case}x{i}")),
        seller_id: UserId::new(format!("seller{}", i % 3)),
        draft: ServiceDraft {
            title: title.into(),
            description: description.into(),
            category: format!("case{case}"),
            price: Money::dollars(5),
            delivery_days: 2,
            instructions: None,
            upgrades: vec![],
        },
        status: if active {
            ServiceStatus::Active
        } else {
            ServiceStatus::Paused
        },
        pending_revision: None,
        rejection_reason: None,
        created_at: at,
        updated_at: at,
        version: 0,
    }
}

async fn ids(store: &dyn Store, q: &SearchQuery, category: &str) -> Vec<String> {
    let query = ServiceQuery::Search {
        q: q.clone(),
        category: Some(category.to_owned()),
        seller: None,
    };
    let page = store
        .services(&query, &PageReq::first(100))
        .await
        .expect("a search answers");
    page.items
        .into_iter()
        .map(|(s, _)| s.id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_dynamodb_find_the_same_services_in_the_same_order() {
    let Some(table) = TestTable::create("search_parity").await else {
        return;
    };
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    // `run` takes an `Fn`: counters go through cells.
    let n = std::cell::Cell::new(0usize);
    let nonempty = std::cell::Cell::new(0usize);
    let result = runner.run(&case(), |c| {
        n.set(n.get() + 1);
        let case_no = n.get();
        let memory = MemoryStore::new();
        let outcome = tokio::task::block_in_place(|| {
            handle.block_on(async {
                for (i, (title, desc, active)) in c.services.iter().enumerate() {
                    let t: Vec<&str> = title.iter().map(|w| spell(*w)).collect();
                    let d: Vec<&str> = desc.iter().map(|w| spell(*w)).collect();
                    let s = service(case_no, i, &t.join(" "), &d.join(" "), *active);
                    for store in [&memory as &dyn Store, &table.store] {
                        let uow = UnitOfWork {
                            writes: vec![Write::Service(s.clone())],
                            ..UnitOfWork::default()
                        };
                        store.commit(uow).await.expect("a service is written");
                    }
                }
                let category = format!("case{case_no}");
                let mut out = Vec::new();
                for words in &c.queries {
                    let Ok(Some(q)) = SearchQuery::parse(&words.join(" ")) else {
                        continue;
                    };
                    let m = ids(&memory, &q, &category).await;
                    let d = ids(&table.store, &q, &category).await;
                    out.push((words.join(" "), m, d));
                }
                out
            })
        });
        for (q, m, d) in outcome {
            prop_assert_eq!(&m, &d, "query {:?}", q);
            if !m.is_empty() {
                nonempty.set(nonempty.get() + 1);
            }
        }
        Ok(())
    });
    table.drop_table().await;
    result.expect("both stores agree");
    // The generator must reach matches, or the comparison proves little.
    let nonempty = nonempty.get();
    assert!(nonempty >= 10, "only {nonempty} searches found anything");
}
