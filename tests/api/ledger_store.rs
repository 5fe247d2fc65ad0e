//! The double-entry core against the store, on the selected backend.

use coalition::ledger::{Account, Amount, EntryKind, EntryMeta, MemberId, Scale};

use crate::common::TestService;

fn pts(n: i64) -> Amount {
    Amount::from_minor(n, Scale::new(0).unwrap())
}

fn meta() -> EntryMeta {
    EntryMeta::new(EntryKind::Earn)
}

#[test]
fn earn_and_redeem_move_balances() {
    let svc = TestService::start();
    let aroma = "aroma".parse().unwrap();
    let member = MemberId::random();
    svc.block_on(async {
        svc.clearing
            .earn(&aroma, member, None, pts(120), meta())
            .await
            .unwrap();
        svc.clearing
            .earn(&aroma, member, None, pts(5), meta())
            .await
            .unwrap();
        let b = svc
            .clearing
            .balance(&Account::Member {
                member,
                unit: "AROMA".parse().unwrap(),
            })
            .await
            .unwrap();
        assert_eq!(b.minor(), -125);
    });
}
