//! What each `coalition` command does. `main.rs` only parses the arguments and calls [`run`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::cli::{Command, FormatArg, RoleArg, ServiceArgs};
use super::{bench, bench_expiry, bench_segments, bench_settle, demo};
use crate::api;
use crate::clearing::tokens::{MAX_FINANCE_TOKEN_TTL_SECS, Role, TokenKeys};
use crate::clearing::{self, Clearing, Settings, time};
use crate::crypto::SigningKey;
use crate::crypto::ed25519::write_private;
use crate::ledger::clock::Clock;
use crate::ledger::{Amount, Check, PartnerId, UnitKind};
use crate::partners::Network;

/// Runs one command; the exit code is the command's verdict (`verify` fails on a broken ledger).
#[expect(
    clippy::too_many_lines,
    reason = "one match arm per command; each arm calls out to a function"
)]
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Serve {
            service,
            listen,
            workers,
            hold_ttl_secs,
            public_url,
            rate_per_sec,
            allow_private_webhooks,
        } => {
            let settings = service
                .settings()?
                .with_hold_ttl_secs(hold_ttl_secs)
                .with_private_webhooks(allow_private_webhooks);
            let options = api::ServerOptions {
                workers: workers.unwrap_or_else(default_workers),
                public_url,
                rate_per_sec,
            };
            serve(&settings, &listen, options)?;
        }
        Command::Migrate { db } => {
            let url = db.url()?;
            let applied = url.migrate()?;
            println!("{url}: {applied} migration(s) applied");
        }
        Command::Keygen { out } => keygen(&out)?,
        Command::Token {
            role,
            partner,
            ttl,
            login,
            url,
            service,
        } => {
            let token = token(role, partner.as_deref(), ttl, &service)?;
            if login {
                eprintln!("Open this link to sign in to the console (it works once):");
                println!("{}/console/login?token={token}", url.trim_end_matches('/'));
            } else {
                println!("{token}");
            }
        }
        Command::Sign {
            key,
            keyid,
            method,
            url,
            data,
            idempotency_key,
        } => sign(
            &key,
            &keyid,
            &method,
            &url,
            data.as_deref(),
            idempotency_key,
        )?,
        Command::Verify { db, json } => {
            let checks = clearing::verify_database(&db.url()?)?;
            return Ok(report(&checks, json));
        }
        Command::Partners { partners } => print_network(&Network::load(&partners.partners)?),
        Command::Openapi => print!("{}", api::openapi::openapi_json_text()),
        Command::Settle { cutoff, service } => settle(&cutoff, &service)?,
        Command::RebuildAggregates { service } => rebuild_aggregates(&service)?,
        Command::Export { format, service } => export(format, &service)?,
        Command::Demo {
            partners,
            keep,
            stay,
        } => demo::run(&partners.partners, keep, stay.as_deref())?,
        Command::Bench {
            database,
            duration,
            concurrency,
            members,
            partners,
            json,
            settle_entries,
            basket,
            segment_members,
            expiring_lots,
        } => {
            let options = bench::Options {
                database,
                partners: partners.partners,
                duration_secs: duration,
                concurrency: concurrency.max(1),
                members: members.max(1),
                json,
                basket,
            };
            match (settle_entries, segment_members, expiring_lots) {
                (Some(n), ..) => bench_settle::run(&options, n.max(1))?,
                (None, Some(n), _) => bench_segments::run(&options, n.max(1))?,
                (None, None, Some(n)) => bench_expiry::run(&options, n.max(1))?,
                (None, None, None) => bench::run(&options)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One HTTP worker per core but one: the writer thread keeps a core busy under load, and on two
/// cores a second worker only took turns with it (docs/performance.md).
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1).max(1))
        .unwrap_or(1)
}

fn serve(settings: &Settings, listen: &str, options: api::ServerOptions) -> Result<()> {
    let clearing = Clearing::start(settings).context("starting the service")?;
    let network = clearing.network();
    tracing::info!(
        database = %settings.database,
        partners = network.partners.len(),
        units = network.units.iter().count(),
        "loaded the {} network",
        network.name
    );
    let result = actix_web::rt::System::new().block_on({
        let clearing = clearing.clone();
        let listen = listen.to_owned();
        async move {
            let (server, addrs) = api::server(clearing, &listen, options)?;
            for a in addrs {
                tracing::info!("listening on http://{a} (API docs at http://{a}/docs)");
            }
            server.await
        }
    });
    // In-flight requests are done; let the writer commit what is queued before exiting.
    clearing.shutdown();
    result.with_context(|| format!("serving on {listen}"))
}

fn keygen(out: &Path) -> Result<()> {
    let key = SigningKey::generate()?;
    let private = PathBuf::from(format!("{}.pem", out.display()));
    let public = PathBuf::from(format!("{}.pub.pem", out.display()));
    if public.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key",
            public.display()
        );
    }
    write_private(&private, &key.to_pem())
        .with_context(|| format!("writing {} (it must not exist yet)", private.display()))?;
    std::fs::write(&public, key.public_key().to_pem())
        .with_context(|| format!("writing {}", public.display()))?;
    eprintln!(
        "wrote {} (private, mode 0600) and {}",
        private.display(),
        public.display()
    );
    // The key's id is the file's name (`--out aroma-dev` → `aroma-dev`), the id the docs use.
    let id = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    eprintln!(
        "the [[keys]] block for the partner's manifest is on stdout \
         (`coalition keygen --out {id} >> partners/<partner>.toml`); key ids are unique across the network"
    );
    // Only the manifest block on stdout, so that it can be appended to a manifest as it is.
    println!(
        "\n# added by coalition keygen\n[[keys]]\nid = \"{id}\"\npublic_key = \"\"\"\n{}\"\"\"",
        key.public_key().to_pem()
    );
    Ok(())
}

fn token(
    role: RoleArg,
    partner: Option<&str>,
    ttl_secs: u64,
    service: &ServiceArgs,
) -> Result<String> {
    if ttl_secs == 0 || ttl_secs > MAX_FINANCE_TOKEN_TTL_SECS {
        bail!("--ttl must be 1 to {MAX_FINANCE_TOKEN_TTL_SECS} seconds");
    }
    let role = Role::from(role);
    if role == Role::Operator && partner.is_some() {
        bail!("an operator token is network-wide: --partner is for finance tokens");
    }
    let partner: Option<PartnerId> = partner.map(str::parse).transpose().context("--partner")?;
    let path = service.settings()?.network_key_path();
    let (key, _) = SigningKey::load_or_create(&path)
        .with_context(|| format!("network key {}", path.display()))?;
    let keys = TokenKeys::new(&key, &key.public_key().jwk().kid);
    Ok(keys.mint_finance(role, partner.as_ref(), ttl_secs, Clock::system().now_secs())?)
}

fn sign(
    key_path: &Path,
    keyid: &str,
    method: &str,
    url: &str,
    data: Option<&str>,
    idempotency_key: Option<String>,
) -> Result<()> {
    let pem = std::fs::read_to_string(key_path)
        .with_context(|| format!("reading {}", key_path.display()))?;
    let key = SigningKey::from_pem(&pem).with_context(|| format!("{}", key_path.display()))?;
    let method = method.to_ascii_uppercase();
    let signed = crate::httpsig::sign_request_with(
        &key,
        keyid,
        &method,
        url,
        data.map(str::as_bytes),
        idempotency_key.as_deref(),
        Clock::system().now_secs(),
    )?;
    if let Some(k) = &idempotency_key {
        println!("Idempotency-Key: {k}");
    }
    if data.is_some() {
        // The service reads JSON bodies only when they say they are JSON.
        println!("Content-Type: application/json");
    }
    if let Some(d) = signed.content_digest {
        println!("Content-Digest: {d}");
    }
    println!("Signature-Input: {}", signed.signature_input);
    println!("Signature: {}", signed.signature);
    Ok(())
}

fn print_network(network: &Network) {
    println!(
        "{} — settles in {} (fee {} bps)",
        network.name, network.settlement_currency, network.fee_bps
    );
    let mut units = vec![[
        "unit".to_owned(),
        "scale".to_owned(),
        "issuer".to_owned(),
        "worth".to_owned(),
    ]];
    for unit in network.units.iter().filter(|u| u.is_points()) {
        if let UnitKind::Points { value, .. } = &unit.kind {
            units.push([
                unit.code.to_string(),
                unit.scale.places().to_string(),
                unit.issuer().map(ToString::to_string).unwrap_or_default(),
                format!("{value} {}", network.settlement_currency),
            ]);
        }
    }
    println!();
    print_table(&units);
    let mut partners = vec![["partner".to_owned(), "name".to_owned(), "keys".to_owned()]];
    for p in network.partners.values() {
        let keys: Vec<String> = p.keys.iter().map(|k| k.id.to_string()).collect();
        partners.push([p.id.to_string(), p.name.clone(), keys.join(", ")]);
    }
    println!();
    print_table(&partners);
}

/// Rows in columns as wide as their widest cell (counted in characters), two spaces apart.
fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("  {}", line.join("  ").trim_end());
    }
}

fn rebuild_aggregates(service: &ServiceArgs) -> Result<()> {
    let clearing = Clearing::start(&service.settings()?)?;
    let progress = |read: i64| {
        if read % 100_000 == 0 {
            eprintln!("{read} entries read");
        }
    };
    let rebuilt = clearing.rebuild_aggregates(&progress);
    clearing.shutdown();
    let read = rebuilt?;
    eprintln!("rebuilt the member profiles from {read} entries");
    println!("{read}");
    Ok(())
}

fn settle(cutoff: &str, service: &ServiceArgs) -> Result<()> {
    let clearing = Clearing::start(&service.settings()?)?;
    let work = Clearing::settle_work(cutoff)?;
    let ctx = clearing.context().clone();
    let settled = clearing.store().write_blocking(move |tx| work(&ctx, tx));
    clearing.shutdown();
    let settled = settled?;
    let scale = clearing.network().currency_scale;
    let positions: Vec<serde_json::Value> = settled
        .settlement
        .positions
        .iter()
        .map(|p| {
            let net = Amount::from_minor(p.net_minor, scale);
            serde_json::json!({ "partner": p.party, "net": net.to_string() })
        })
        .collect();
    let out = serde_json::json!({
        "settlement_id": settled.settlement.row.id,
        "cutoff": time::rfc3339(settled.settlement.row.cutoff_us),
        "status": settled.settlement.row.status.as_str(),
        "created": settled.created,
        "positions": positions,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn export(format: FormatArg, service: &ServiceArgs) -> Result<()> {
    let clearing = Clearing::start(&service.settings()?)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut export = clearing.export(format.into(), None, None);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = runtime.block_on(async {
        while let Some(page) = clearing.export_next(&mut export).await? {
            out.write_all(page.as_bytes())?;
        }
        out.flush()?;
        anyhow::Ok(())
    });
    clearing.shutdown();
    written
}

/// Prints each check; the exit code says whether all passed.
fn report(checks: &[Check], json: bool) -> ExitCode {
    let ok = checks.iter().all(|c| c.ok);
    if json {
        let body = serde_json::json!({ "ok": ok, "checks": checks });
        println!("{body}");
    } else {
        for c in checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            println!("{mark} {:<34} {}", c.name, c.detail);
        }
        println!(
            "{}",
            if ok {
                "ledger verified"
            } else {
                "LEDGER VERIFICATION FAILED"
            }
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
