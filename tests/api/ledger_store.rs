//! The double-entry core against the store, on the selected backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use coalition::clearing::ClearingError;
use coalition::ledger::{
    Account, Amount, BalanceError, EntryDraft, EntryError, EntryKind, EntryMeta, MemberId,
    PartnerId, Party, Posting, Scale, UnitCode,
};
use coalition::store::{self, Store};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::common::TestService;

fn pts(n: i64) -> Amount {
    Amount::from_minor(n, Scale::new(0).unwrap())
}

/// Hand-built entries are adjustments: `verify` holds earns to the posting rules' shape, and
/// these move points without a member or partner named.
fn meta() -> EntryMeta {
    EntryMeta::new(EntryKind::Adjustment)
}

fn partner(id: &str) -> PartnerId {
    id.parse().unwrap()
}

fn unit(code: &str) -> UnitCode {
    code.parse().unwrap()
}

fn member_account(member: MemberId, code: &str) -> Account {
    Account::Member {
        member,
        unit: unit(code),
    }
}

fn entry_count(svc: &TestService) -> i64 {
    svc.clearing
        .store()
        .read_blocking(store::ledger::entry_count)
        .unwrap()
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct AccountSum {
    #[diesel(sql_type = Text)]
    account: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Every account's balance as the accounts table holds it and as its postings sum, computed
/// with plain SQL independently of the ledger code.
fn stored_and_summed(svc: &TestService) -> (BTreeMap<String, i64>, BTreeMap<String, i64>) {
    let mut conn = svc.db.raw();
    let stored: Vec<AccountSum> =
        diesel::sql_query("SELECT name AS account, balance_minor AS total FROM accounts")
            .load(&mut conn)
            .unwrap();
    let summed: Vec<AccountSum> = diesel::sql_query(
        "SELECT account, CAST(SUM(amount_minor) AS BIGINT) AS total FROM postings GROUP BY account",
    )
    .load(&mut conn)
    .unwrap();
    (
        stored.into_iter().map(|a| (a.account, a.total)).collect(),
        summed.into_iter().map(|a| (a.account, a.total)).collect(),
    )
}

fn assert_verified(svc: &TestService) {
    let checks = svc.block_on(svc.clearing.verify()).unwrap();
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
}

#[test]
fn earn_and_redeem_move_balances() {
    let svc = TestService::start();
    let member = MemberId::random();
    svc.block_on(async {
        let c = &svc.clearing;
        c.post_earn(&partner("aroma"), member, None, pts(120), meta())
            .await
            .unwrap();
        c.post_earn(&partner("aroma"), member, None, pts(5), meta())
            .await
            .unwrap();
        let b = c.balance(&member_account(member, "AROMA")).await.unwrap();
        assert_eq!(b.minor(), -125, "a member's points are a credit balance");
        c.post_redemption(&partner("aroma"), member, unit("AROMA"), pts(25), meta())
            .await
            .unwrap();
        let b = c.balance(&member_account(member, "AROMA")).await.unwrap();
        assert_eq!(b.minor(), -100);
        let issuer = Account::Issuer {
            issuer: Party::Partner(partner("aroma")),
            unit: unit("AROMA"),
        };
        assert_eq!(c.balance(&issuer).await.unwrap().minor(), 100);
    });
    assert_eq!(entry_count(&svc), 3);
    assert_verified(&svc);
}

#[test]
fn cross_brand_redemption_follows_the_worked_example() {
    // DESIGN.md: AROMA worth 0.04 ILS, a member redeems 50 AROMA at the bookstore.
    let svc = TestService::start();
    let member = MemberId::random();
    let entry = svc.block_on(async {
        let c = &svc.clearing;
        c.post_earn(&partner("aroma"), member, None, pts(80), meta())
            .await
            .unwrap();
        c.post_redemption(&partner("books"), member, unit("AROMA"), pts(50), meta())
            .await
            .unwrap()
    });
    let lines: Vec<(String, String)> = entry
        .postings
        .iter()
        .map(|p| (p.account.to_string(), p.amount.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            (format!("member:{member}:AROMA"), "50".to_owned()),
            ("issuer:aroma:AROMA".to_owned(), "-50".to_owned()),
            ("settlement:aroma:ILS".to_owned(), "2.00".to_owned()),
            ("settlement:books:ILS".to_owned(), "-2.00".to_owned()),
        ]
    );
    // Read back from the database, the entry is the same and its hash checks.
    let back = svc.block_on(svc.clearing.entry(entry.id)).unwrap().unwrap();
    assert_eq!(back, entry);
    assert_verified(&svc);
}

/// A draft that issues `issued` COAL points from the network and credits `credited` of them
/// to `member` (balanced only when the two are equal).
fn coal_earn(member: MemberId, issued: i64, credited: i64) -> EntryDraft {
    EntryDraft::new(
        meta(),
        vec![
            Posting::debit(
                Account::Issuer {
                    issuer: Party::Network,
                    unit: unit("COAL"),
                },
                pts(issued),
            ),
            Posting::credit(member_account(member, "COAL"), pts(credited)).unwrap(),
        ],
    )
}

#[test]
fn an_unbalanced_entry_cannot_be_written() {
    let svc = TestService::start();
    let member = MemberId::random();
    let draft = coal_earn(member, 10, 9);
    let refused = draft.balance(svc.clearing.units());
    assert!(
        matches!(refused, Err(EntryError::Unbalanced { .. })),
        "{refused:?}"
    );
    // Only a BalancedEntry can reach the store, so nothing was written.
    assert_eq!(entry_count(&svc), 0);
    // The postings table itself refuses a zero line, and no entry exists to hang one on.
    let mut conn = svc.db.raw();
    let direct = diesel::sql_query(
        "INSERT INTO postings (entry_seq, line, account, unit, amount_minor) VALUES (1, 0, 'x', 'COAL', 0)",
    )
    .execute(&mut conn);
    assert!(direct.is_err());
}

#[test]
fn amounts_with_more_places_than_the_unit_are_refused() {
    let svc = TestService::start();
    let member = MemberId::random();
    // FUEL counts in 1 decimal place, COAL in none, ILS in 2.
    let fuel = svc.clearing.units().scale_of(&unit("FUEL")).unwrap();
    assert!(Amount::parse("1.5", fuel).is_ok());
    assert!(Amount::parse("1.55", fuel).is_err());
    let ils = svc.clearing.units().scale_of(&unit("ILS")).unwrap();
    assert!(Amount::parse("12.345", ils).is_err());
    assert!(Amount::from_decimal("0.001".parse().unwrap(), ils).is_err());
    // An amount at another unit's scale is refused by the use case, with nothing written.
    let wrong = Amount::parse("1.5", fuel).unwrap();
    let refused =
        svc.block_on(
            svc.clearing
                .post_earn(&partner("aroma"), member, None, wrong, meta()),
        );
    assert!(
        matches!(refused, Err(ClearingError::InvalidAmount(_))),
        "{refused:?}"
    );
    assert_eq!(entry_count(&svc), 0);
}

#[test]
fn a_member_balance_cannot_go_below_zero() {
    let svc = TestService::start();
    let member = MemberId::random();
    svc.block_on(async {
        let c = &svc.clearing;
        c.post_earn(&partner("aroma"), member, None, pts(10), meta())
            .await
            .unwrap();
        let refused = c
            .post_redemption(&partner("aroma"), member, unit("AROMA"), pts(11), meta())
            .await;
        assert!(
            matches!(
                refused,
                Err(ClearingError::Balance(BalanceError::Insufficient { .. }))
            ),
            "{refused:?}"
        );
        assert_eq!(
            c.balance(&member_account(member, "AROMA"))
                .await
                .unwrap()
                .minor(),
            -10
        );
    });
    assert_eq!(entry_count(&svc), 1);
    // The database refuses it too, should any code path ever skip the ledger's rule.
    let mut conn = svc.db.raw();
    let sql = format!("UPDATE accounts SET balance_minor = 5 WHERE name = 'member:{member}:AROMA'");
    assert!(diesel::sql_query(sql).execute(&mut conn).is_err());
}

#[test]
fn concurrent_spends_never_overdraw() {
    let svc = TestService::start();
    let member = MemberId::random();
    const EARNED: i64 = 100;
    const SPEND: i64 = 7;
    const SPENDERS: usize = 40;
    svc.block_on(
        svc.clearing
            .post_earn(&partner("aroma"), member, None, pts(EARNED), meta()),
    )
    .unwrap();
    // Each spender is its own thread with its own runtime, all released at once.
    let start = Arc::new(std::sync::Barrier::new(SPENDERS));
    let spenders: Vec<_> = (0..SPENDERS)
        .map(|i| {
            let c = svc.clearing.clone();
            let start = start.clone();
            // Half spend at the issuer, half at another brand: both draw on one balance.
            let at = if i % 2 == 0 { "aroma" } else { "books" };
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                start.wait();
                rt.block_on(c.post_redemption(
                    &partner(at),
                    member,
                    unit("AROMA"),
                    pts(SPEND),
                    meta(),
                ))
            })
        })
        .collect();
    let (mut ok, mut refused) = (0i64, 0i64);
    for s in spenders {
        match s.join().unwrap() {
            Ok(_) => ok += 1,
            Err(ClearingError::Balance(BalanceError::Insufficient { .. })) => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(
        ok,
        EARNED / SPEND,
        "exactly as many spends as the balance covers"
    );
    assert_eq!(refused, SPENDERS as i64 - EARNED / SPEND);
    let left = svc
        .block_on(svc.clearing.balance(&member_account(member, "AROMA")))
        .unwrap();
    assert_eq!(left.minor(), -(EARNED % SPEND));
    assert_eq!(entry_count(&svc), 1 + ok);
    assert_verified(&svc);
}

#[test]
fn balances_equal_the_sum_of_postings() {
    let svc = TestService::start();
    let members: Vec<MemberId> = (0..5).map(|_| MemberId::random()).collect();
    let brands = ["aroma", "books", "threads", "fuelup"];
    let units = ["AROMA", "PAGES", "STYLE", "FUEL", "COAL"];
    // A deterministic mix of earns and redemptions across brands and units.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    svc.block_on(async {
        let c = &svc.clearing;
        for _ in 0..150 {
            let m = members[next(5) as usize];
            let at = partner(brands[next(4) as usize]);
            let u = unit(units[next(5) as usize]);
            let scale = c.units().scale_of(&u).unwrap();
            let amount = Amount::from_minor(1 + next(40) as i64, scale);
            if next(3) == 0 {
                // May be refused for lack of points; either way the books must stay true.
                let _ = c.post_redemption(&at, m, u, amount, meta()).await;
            } else {
                c.post_earn(&at, m, Some(u), amount, meta()).await.unwrap();
            }
        }
    });
    let (stored, summed) = stored_and_summed(&svc);
    assert!(stored.len() > 10, "the mix touched many accounts");
    assert_eq!(stored, summed);
    // And per unit, the accounts net to zero.
    let mut per_unit: BTreeMap<String, i64> = BTreeMap::new();
    for (account, total) in &stored {
        *per_unit
            .entry(account.rsplit(':').next().unwrap().to_owned())
            .or_default() += total;
    }
    assert!(per_unit.values().all(|v| *v == 0), "{per_unit:?}");
    assert_verified(&svc);
}

#[test]
fn two_writers_on_one_database_keep_one_chain() {
    // A second process's store on the same database: the writers' lock keeps the chain linear.
    let svc = TestService::start();
    let other: Arc<Store> =
        Store::open(&svc.db.url, coalition::ledger::clock::Clock::system()).unwrap();
    let units = svc.clearing.units().clone();
    let member = MemberId::random();
    let entry = |n: i64| coal_earn(member, n, n).balance(&units).unwrap();
    let mine = svc.clearing.store().clone();
    let threads: Vec<_> = [mine, other.clone()]
        .into_iter()
        .map(|s| {
            let entries: Vec<_> = (1..=20).map(entry).collect();
            std::thread::spawn(move || {
                for e in entries {
                    s.write_blocking(move |tx| tx.post(e)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    other.shutdown();
    assert_eq!(entry_count(&svc), 40);
    assert_verified(&svc);
}

#[test]
fn a_refused_job_is_undone_alone_inside_a_shared_batch() {
    // Jobs of every shape share one batch: the writer is held busy by a slow first job while
    // the rest queue behind it. Refused jobs — after posting, after writing directly, or by a
    // balance rule — must leave no trace, and the others must all land.
    let svc = TestService::start();
    let store = svc.clearing.store().clone();
    let units = svc.clearing.units().clone();
    let earn = |member: MemberId, n: i64| coal_earn(member, n, n).balance(&units).unwrap();
    let spend = |member: MemberId, n: i64| {
        EntryDraft::new(
            meta(),
            vec![
                Posting::debit(member_account(member, "COAL"), pts(n)),
                Posting::credit(
                    Account::Issuer {
                        issuer: Party::Network,
                        unit: unit("COAL"),
                    },
                    pts(n),
                )
                .unwrap(),
            ],
        )
        .balance(&units)
        .unwrap()
    };
    let shared = MemberId::random();
    const JOBS: usize = 60;
    let refused = || store::StoreError::Conflict("refused on purpose".into());
    let results = svc.block_on(async {
        let slow = store.write(|_tx| -> Result<(), store::StoreError> {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        });
        let jobs: Vec<_> = (0..JOBS)
            .map(|i| {
                let store = store.clone();
                let (e1, e2) = (earn(shared, 10), spend(shared, 1_000_000));
                tokio::spawn(async move {
                    // Let the slow job reach the writer first.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    store
                        .write(
                            move |tx| -> Result<Option<store::ResponseSlot>, store::StoreError> {
                                let external = format!("batch-{i}");
                                let fresh = MemberId::random().to_string();
                                // Jobs that succeed leave a response to render once the batch's
                                // jobs have run; a later refused job must not take it away.
                                let respond = |tx: &mut store::WriteTx<'_>| {
                                    tx.defer_response(
                                        None,
                                        Box::new(move || (201, format!("job {i}"))),
                                    )
                                };
                                match i % 5 {
                                    0 => {
                                        tx.post(e1)?;
                                        Ok(Some(respond(tx)))
                                    }
                                    1 => {
                                        tx.post(e1)?;
                                        Err(refused())
                                    }
                                    2 => {
                                        tx.post(e1)?;
                                        store::members::enrol(
                                            tx,
                                            "aroma",
                                            &external,
                                            &fresh,
                                            store::members::Sharing::default(),
                                        )?;
                                        Err(refused())
                                    }
                                    3 => {
                                        tx.post(e1)?;
                                        store::members::enrol(
                                            tx,
                                            "aroma",
                                            &external,
                                            &fresh,
                                            store::members::Sharing::default(),
                                        )?;
                                        Ok(Some(respond(tx)))
                                    }
                                    _ => tx.post(e2).map(|_| None),
                                }
                            },
                        )
                        .await
                })
            })
            .collect();
        slow.await.unwrap();
        let mut rest = Vec::new();
        for job in jobs {
            rest.push(job.await.unwrap());
        }
        rest
    });
    let mut landed = 0i64;
    for (i, r) in results.iter().enumerate() {
        match (i % 5, r) {
            (0 | 3, Ok(Some(slot))) => {
                let rendered = slot.lock().unwrap().clone();
                assert_eq!(rendered, Some((201, format!("job {i}"))), "job {i}");
                landed += 1;
            }
            (1 | 2, Err(store::StoreError::Conflict(_))) => {}
            (4, Err(store::StoreError::Balance(_))) => {}
            (k, other) => panic!("job {i} (shape {k}): unexpected {other:?}"),
        }
    }
    assert_eq!(landed as usize, 2 * JOBS / 5);
    assert_eq!(entry_count(&svc), landed);
    let balance = svc
        .block_on(svc.clearing.balance(&member_account(shared, "COAL")))
        .unwrap();
    assert_eq!(balance.minor(), -10 * landed);
    // Members enrolled by refused jobs are gone; the others are there.
    let mut conn = svc.db.raw();
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        external_id: String,
    }
    let linked: Vec<String> = diesel::sql_query(
        "SELECT external_id FROM member_links WHERE external_id LIKE 'batch-%' ORDER BY external_id",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|n| n.external_id)
    .collect();
    let mut expected: Vec<String> = (0..JOBS)
        .filter(|i| i % 5 == 3)
        .map(|i| format!("batch-{i}"))
        .collect();
    expected.sort();
    assert_eq!(linked, expected);
    let (stored, summed) = stored_and_summed(&svc);
    assert_eq!(stored, summed);
    assert_verified(&svc);
    // The writer took them as one batch (or a few), not one by one.
    let stats = store.batch_stats();
    let batches = stats.committed.load(std::sync::atomic::Ordering::Relaxed);
    let jobs = stats.jobs.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        jobs as f64 / batches as f64 > 2.0,
        "{jobs} jobs in {batches} batches"
    );
}
