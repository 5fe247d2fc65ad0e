//! `coalition demo`: a scripted tour of the demo network on a throwaway SQLite file.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use coalition::api::RunningServer;
use coalition::api::public::{Jwks, NetworkView};
use coalition::clearing::{Clearing, ClearingError, Settings};
use coalition::crypto::ed25519::write_private;
use coalition::ledger::{
    Account, Amount, CommittedEntry, EntryKind, EntryMeta, MemberId, PartnerId, Party, UnitCode,
};

/// Copies the manifests into `dir`, replacing every partner's keys by a freshly generated one
/// whose private half is written beside them. The repository holds public keys only.
fn prepare_manifests(source: &Path, dir: &Path) -> Result<PathBuf> {
    let manifests = dir.join("partners");
    let keys = dir.join("keys");
    fs::create_dir_all(&keys)?;
    if !source.join(coalition::partners::NETWORK_FILE).is_file() {
        bail!(
            "{} has no network.toml: run the demo from the repository root or pass --partners DIR",
            source.display()
        );
    }
    for generated in coalition::partners::copy_with_generated_keys(source, &manifests, "demo")? {
        write_private(
            &keys.join(format!("{}.pem", generated.key_id)),
            &generated.key.to_pem(),
        )?;
    }
    Ok(manifests)
}

fn show(entry: &CommittedEntry) {
    println!(
        "    entry {} #{} ({}), hash {}…",
        entry.id,
        entry.seq,
        entry.meta.kind,
        &entry.hash.to_string()[..12]
    );
    for p in &entry.postings {
        let side = if p.amount.minor() > 0 { "dr" } else { "cr" };
        let shown = p
            .amount
            .checked_neg()
            .filter(|_| p.amount.minor() < 0)
            .unwrap_or(p.amount);
        println!(
            "      {:<58} {:>10} {side}",
            p.account.to_string(),
            shown.to_string()
        );
    }
}

fn id(s: &str) -> Result<PartnerId> {
    s.parse().with_context(|| format!("partner {s}"))
}

fn unit(s: &str) -> Result<UnitCode> {
    s.parse().with_context(|| format!("unit {s}"))
}

pub fn run(source: &Path, keep: bool) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("coalition-demo-{}", uuid::Uuid::new_v4()));
    fs::create_dir_all(&dir)?;
    let outcome = tour(source, &dir);
    if keep {
        println!("\nThe demo's folder is kept: {}", dir.display());
    } else {
        let _ = fs::remove_dir_all(&dir);
    }
    outcome
}

fn tour(source: &Path, dir: &Path) -> Result<()> {
    println!(
        "Coalition demo — a throwaway network in {}\n",
        dir.display()
    );
    let manifests = prepare_manifests(source, dir)?;
    println!(
        "1. Generated a fresh Ed25519 key for every partner (private keys in {}/keys).",
        dir.display()
    );
    let settings = Settings {
        database: format!("sqlite://{}", dir.join("demo.db").display()).parse()?,
        partners_dir: manifests,
        network_key: Some(dir.join("network-key.pem")),
        hold_ttl_secs: coalition::clearing::DEFAULT_HOLD_TTL_SECS,
    };
    let clearing = Clearing::start(&settings)?;
    let server = RunningServer::start(clearing.clone(), "127.0.0.1:0")?;
    println!(
        "2. Started the service on {} (SQLite file demo.db).",
        server.url("")
    );

    let network: NetworkView = ureq::get(&server.url("/v1/network"))
        .call()?
        .body_mut()
        .read_json()?;
    println!(
        "\n3. GET /v1/network — {} settles in {}:",
        network.name, network.settlement_currency
    );
    for p in &network.partners {
        let unit = p.unit.as_deref().unwrap_or("-");
        println!(
            "     {:<14} {:<26} unit {:<6}{}",
            p.id,
            p.name,
            unit,
            if p.charity { " (charity)" } else { "" }
        );
    }
    for u in &network.units {
        println!(
            "     unit {:<6} issued by {:<8} worth {} {} a point",
            u.code, u.issuer, u.value, network.settlement_currency
        );
    }
    let jwks: Jwks = ureq::get(&server.url("/.well-known/jwks.json"))
        .call()?
        .body_mut()
        .read_json()?;
    let kid = jwks.keys.first().map(|k| k.kid.as_str()).unwrap_or("-");
    println!("   GET /.well-known/jwks.json — the network signs with key {kid}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(story(&clearing))?;

    drop(server);
    clearing.shutdown();
    println!("\nDone. Start the real thing with `cargo run --release -- serve`.");
    Ok(())
}

async fn story(clearing: &Clearing) -> Result<()> {
    let pts = |n: i64, u: &UnitCode| -> Result<Amount> {
        let scale = clearing.units().scale_of(u).context("unit scale")?;
        Ok(Amount::from_decimal(n.into(), scale)?)
    };
    let meta = |reference: &str| EntryMeta {
        reference: Some(reference.to_owned()),
        ..EntryMeta::new(EntryKind::Earn)
    };
    let (aroma, books, threads) = (id("aroma")?, id("books")?, id("threads")?);
    let (aroma_pts, coal) = (unit("AROMA")?, unit("COAL")?);
    let dana = MemberId::random();
    let avi = MemberId::random();

    println!("\n4. Dana earns 120 AROMA at Aroma Café (its own unit: no one owes anyone yet).");
    show(
        &clearing
            .earn(
                &aroma,
                dana,
                None,
                pts(120, &aroma_pts)?,
                meta("aroma-pos-1001"),
            )
            .await?,
    );

    println!(
        "\n5. Dana earns 40 COAL, the network's coalition unit, at Tel Aviv Books: the bookstore owes the network their value."
    );
    show(
        &clearing
            .earn(
                &books,
                dana,
                Some(coal.clone()),
                pts(40, &coal)?,
                meta("books-web-77"),
            )
            .await?,
    );

    println!(
        "\n6. Dana spends 50 AROMA at the bookstore: Aroma's liability shrinks and Aroma owes the bookstore 50 × 0.04 = 2.00 ILS."
    );
    show(
        &clearing
            .redeem(
                &books,
                dana,
                aroma_pts.clone(),
                pts(50, &aroma_pts)?,
                meta("books-pos-5"),
            )
            .await?,
    );

    println!("\n7. Dana spends 20 COAL at Threads Fashion: the network owes Threads 1.00 ILS.");
    show(
        &clearing
            .redeem(
                &threads,
                dana,
                coal.clone(),
                pts(20, &coal)?,
                meta("threads-pos-9"),
            )
            .await?,
    );

    println!("\n8. Avi, who holds nothing, tries to spend 10 AROMA: refused, nothing is written.");
    match clearing
        .redeem(
            &aroma,
            avi,
            aroma_pts.clone(),
            pts(10, &aroma_pts)?,
            meta("aroma-pos-1002"),
        )
        .await
    {
        Err(ClearingError::Balance(e)) => println!("    refused: {e}"),
        Err(e) => bail!("expected an insufficient balance, got {e}"),
        Ok(_) => bail!("an overdraft was accepted"),
    }

    println!("\n9. Balances:");
    for u in [&aroma_pts, &coal] {
        let b = clearing
            .balance(&Account::Member {
                member: dana,
                unit: u.clone(),
            })
            .await?;
        println!(
            "     Dana holds {:>6} {u}",
            b.checked_neg().unwrap_or(b).to_string()
        );
    }
    let currency = clearing.network().settlement_currency.clone();
    let mut parties = vec![Party::Network];
    parties.extend(
        clearing
            .network()
            .partners
            .keys()
            .cloned()
            .map(Party::Partner),
    );
    println!("   Open settlement positions (before the coupon and settlement features land):");
    for party in parties {
        let b = clearing
            .balance(&Account::Settlement {
                party: party.clone(),
                currency: currency.clone(),
            })
            .await?;
        if b.is_zero() {
            continue;
        }
        let verb = if b.minor() < 0 { "is owed" } else { "owes" };
        let shown = if b.minor() < 0 {
            b.checked_neg().unwrap_or(b)
        } else {
            b
        };
        println!("     {:<14} {verb} {shown} {currency}", party.to_string());
    }

    println!("\n10. coalition verify — every invariant over the whole ledger:");
    let checks = clearing.verify().await?;
    for c in &checks {
        println!(
            "     {} {:<28} {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    if !checks.iter().all(|c| c.ok) {
        bail!("the ledger failed verification");
    }
    Ok(())
}
