//! The `coalition` command: a thin CLI over the library.

mod bench;
mod bench_client;
mod bench_settle;
mod demo;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use coalition::api;
use coalition::clearing::{self, Clearing, Settings};
use coalition::crypto::SigningKey;
use coalition::crypto::ed25519::write_private;
use coalition::ledger::Check;
use coalition::partners::Network;
use coalition::store::DatabaseUrl;

#[derive(Parser)]
#[command(
    name = "coalition",
    version,
    about = "Clearing service for a partner network of loyalty programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DatabaseArg {
    /// sqlite://PATH (embedded, the default) or postgres://USER@HOST:PORT/DB
    #[arg(
        long,
        env = "COALITION_DATABASE_URL",
        default_value = "sqlite://coalition.db"
    )]
    database: String,
}

impl DatabaseArg {
    fn url(&self) -> Result<DatabaseUrl> {
        self.database.parse().context("--database")
    }
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database if needed, load the partner manifests and serve the API.
    Serve {
        #[command(flatten)]
        db: DatabaseArg,
        /// Folder with network.toml and one manifest per partner.
        #[arg(long, env = "COALITION_PARTNERS", default_value = "partners")]
        partners: PathBuf,
        #[arg(long, env = "COALITION_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// The network's Ed25519 signing key (PKCS#8 PEM); created when missing. Default:
        /// beside the SQLite file, or ./coalition.network-key.pem for PostgreSQL.
        #[arg(long, env = "COALITION_NETWORK_KEY")]
        network_key: Option<PathBuf>,
        /// HTTP worker threads (default: one per core but one, which the writer thread keeps
        /// busy; at least one).
        #[arg(long, env = "COALITION_WORKERS")]
        workers: Option<usize>,
        /// Seconds an uncaptured hold lasts before its points go back to the member.
        #[arg(long, env = "COALITION_HOLD_TTL_SECS", default_value_t = clearing::DEFAULT_HOLD_TTL_SECS)]
        hold_ttl_secs: u64,
        /// The URL partners call when the service sits behind a proxy (e.g.
        /// https://api.example.com); signatures over `@target-uri` are checked against it.
        #[arg(long, env = "COALITION_PUBLIC_URL")]
        public_url: Option<String>,
        /// Requests per second each partner may make, sustained (bursts of two seconds' worth);
        /// over it a partner gets 429 with Retry-After.
        #[arg(long, env = "COALITION_RATE_PER_SEC", default_value_t = api::ratelimit::DEFAULT_RATE_PER_SEC)]
        rate_per_sec: u32,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Write a new Ed25519 key pair: PREFIX.pem (private, PKCS#8) and PREFIX.pub.pem (SPKI).
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the Content-Digest, Signature-Input and Signature headers that sign a request, one
    /// per line (for `curl -H @file`). Sign the exact bytes you send.
    Sign {
        /// The partner's private key (PKCS#8 PEM, as `keygen` writes it).
        #[arg(long)]
        key: PathBuf,
        /// The key id registered in the partner's manifest.
        #[arg(long)]
        keyid: String,
        #[arg(short = 'X', long = "request", default_value = "GET")]
        method: String,
        /// The full URL the request goes to, e.g. http://127.0.0.1:8080/v1/earn
        url: String,
        /// The request body.
        #[arg(short = 'd', long = "data")]
        data: Option<String>,
        /// The request's Idempotency-Key: printed and covered by the signature, so that two
        /// requests with the same body never share a signature.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Print a finance or operator JWT that the service (same network key) accepts.
    Token {
        #[arg(long, value_parser = ["finance", "operator"])]
        role: String,
        /// Limit a finance token to one partner's own figures.
        #[arg(long)]
        partner: Option<String>,
        /// Lifetime in seconds (at most 30 days).
        #[arg(long, default_value_t = coalition::clearing::tokens::DEFAULT_FINANCE_TOKEN_TTL_SECS)]
        ttl: u64,
        #[command(flatten)]
        db: DatabaseArg,
        /// The network's signing key; by default the one `serve` uses for --database.
        #[arg(long, env = "COALITION_NETWORK_KEY")]
        network_key: Option<PathBuf>,
    },
    /// Close a settlement cycle at the cut-off (as `POST /v1/settlements`) and print it as JSON.
    Settle {
        /// RFC 3339, e.g. 2026-11-30T23:59:59Z; not in the future.
        #[arg(long)]
        cutoff: String,
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long, env = "COALITION_PARTNERS", default_value = "partners")]
        partners: PathBuf,
        #[arg(long, env = "COALITION_NETWORK_KEY")]
        network_key: Option<PathBuf>,
    },
    /// Print the journal as CSV, a ledger-cli/hledger journal or a beancount file.
    Export {
        #[arg(long, value_parser = ["csv", "ledger", "beancount"])]
        format: String,
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long, env = "COALITION_PARTNERS", default_value = "partners")]
        partners: PathBuf,
        #[arg(long, env = "COALITION_NETWORK_KEY")]
        network_key: Option<PathBuf>,
    },
    /// Check every ledger invariant; exits non-zero if any fails.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the partner manifests and print the network they describe.
    Partners {
        #[arg(long, env = "COALITION_PARTNERS", default_value = "partners")]
        partners: PathBuf,
    },
    /// Print the OpenAPI document this build serves.
    Openapi,
    /// Load the service (a separate process on a fresh database) with signed earns and
    /// authorised cross-brand redemptions over HTTP, then check the database and verify.
    Bench {
        /// sqlite://PATH (a new file) or a postgres:// URL on whose server a fresh database is
        /// made and dropped afterwards. Default: a temporary SQLite file.
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 20)]
        duration: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 2000)]
        members: usize,
        #[arg(long, default_value = "partners")]
        partners: PathBuf,
        /// One JSON line instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Instead of the HTTP load: write this many entries in-process, then time closing one
        /// settlement cycle over all of them (and verify the ledger).
        #[arg(long)]
        settle_entries: Option<u64>,
    },
    /// A scripted tour on a throwaway SQLite file with freshly generated partner keys.
    Demo {
        /// The manifests to tour (their keys are replaced by generated ones).
        #[arg(long, default_value = "partners")]
        partners: PathBuf,
        /// Keep the throwaway folder instead of deleting it at the end.
        #[arg(long)]
        keep: bool,
    },
}

fn init_logging() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// One HTTP worker per core but one: the writer thread keeps a core busy under load, and on two
/// cores a second worker only took turns with it (one worker: 7–10 % more operations per second
/// in the bench on SQLite and on PostgreSQL, docs/performance.md).
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1).max(1))
        .unwrap_or(1)
}

fn main() -> ExitCode {
    init_logging();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve {
            db,
            partners,
            listen,
            network_key,
            workers,
            hold_ttl_secs,
            public_url,
            rate_per_sec,
        } => {
            let settings = Settings {
                database: db.url()?,
                partners_dir: partners,
                network_key,
                hold_ttl_secs,
            };
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
            db,
            network_key,
        } => {
            use coalition::clearing::tokens::{MAX_FINANCE_TOKEN_TTL_SECS, Role, TokenKeys};
            if ttl == 0 || ttl > MAX_FINANCE_TOKEN_TTL_SECS {
                bail!("--ttl must be 1 to {MAX_FINANCE_TOKEN_TTL_SECS} seconds");
            }
            let role = if role == "operator" {
                Role::Operator
            } else {
                Role::Finance
            };
            if role == Role::Operator && partner.is_some() {
                bail!("an operator token is network-wide: --partner is for finance tokens");
            }
            let partner: Option<coalition::ledger::PartnerId> = partner
                .map(|p| p.parse())
                .transpose()
                .context("--partner")?;
            let settings = Settings {
                database: db.url()?,
                partners_dir: PathBuf::new(),
                network_key,
                hold_ttl_secs: 0,
            };
            let path = settings.network_key_path();
            let (key, _) = SigningKey::load_or_create(&path)
                .with_context(|| format!("network key {}", path.display()))?;
            let keys = TokenKeys::new(&key, &key.public_key().jwk().kid);
            println!(
                "{}",
                keys.mint_finance(
                    role,
                    partner.as_ref(),
                    ttl,
                    coalition::clearing::time::now_secs()
                )?
            );
        }
        Command::Sign {
            key,
            keyid,
            method,
            url,
            data,
            idempotency_key,
        } => {
            let pem = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let key = SigningKey::from_pem(&pem).with_context(|| format!("{}", key.display()))?;
            let now = coalition::clearing::time::now_secs();
            let method = method.to_ascii_uppercase();
            let signed = coalition::httpsig::sign_request_with(
                &key,
                &keyid,
                &method,
                &url,
                data.as_deref().map(str::as_bytes),
                idempotency_key.as_deref(),
                now,
            )?;
            if let Some(k) = &idempotency_key {
                println!("Idempotency-Key: {k}");
            }
            if let Some(d) = signed.content_digest {
                println!("Content-Digest: {d}");
            }
            println!("Signature-Input: {}", signed.signature_input);
            println!("Signature: {}", signed.signature);
        }
        Command::Verify { db, json } => {
            let checks = clearing::verify_database(&db.url()?)?;
            return Ok(report(&checks, json));
        }
        Command::Partners { partners } => {
            let network = Network::load(&partners)?;
            println!(
                "{} — settles in {} (fee {} bps)",
                network.name, network.settlement_currency, network.fee_bps
            );
            for unit in network.units.iter().filter(|u| u.is_points()) {
                let issuer = unit.issuer().map(ToString::to_string).unwrap_or_default();
                if let coalition::ledger::UnitKind::Points { value, .. } = &unit.kind {
                    println!(
                        "  unit {:<8} scale {} issuer {:<14} worth {} {}",
                        unit.code,
                        unit.scale.places(),
                        issuer,
                        value,
                        network.settlement_currency
                    );
                }
            }
            for p in network.partners.values() {
                let keys: Vec<String> = p.keys.iter().map(|k| k.id.to_string()).collect();
                println!(
                    "  partner {:<14} {:<26} keys: {}",
                    p.id,
                    p.name,
                    keys.join(", ")
                );
            }
        }
        Command::Openapi => print!("{}", api::docs::openapi_json_text()),
        Command::Settle {
            cutoff,
            db,
            partners,
            network_key,
        } => {
            let settings = Settings {
                database: db.url()?,
                partners_dir: partners,
                network_key,
                hold_ttl_secs: clearing::DEFAULT_HOLD_TTL_SECS,
            };
            let clearing = Clearing::start(&settings)?;
            let work = Clearing::settle_work(&cutoff)?;
            let ctx = clearing.context().clone();
            let settled = clearing.store().write_blocking(move |tx| work(&ctx, tx));
            clearing.shutdown();
            let settled = settled?;
            let scale = clearing.network().currency_scale;
            let positions: Vec<serde_json::Value> = settled
                .settlement
                .positions
                .iter()
                .map(|p| serde_json::json!({ "partner": p.party, "net": coalition::ledger::Amount::from_minor(p.net_minor, scale).to_string() }))
                .collect();
            let out = serde_json::json!({
                "settlement_id": settled.settlement.row.id,
                "cutoff": coalition::clearing::time::rfc3339(settled.settlement.row.cutoff_us),
                "status": settled.settlement.row.status,
                "created": settled.created,
                "positions": positions,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Export {
            format,
            db,
            partners,
            network_key,
        } => {
            let settings = Settings {
                database: db.url()?,
                partners_dir: partners,
                network_key,
                hold_ttl_secs: clearing::DEFAULT_HOLD_TTL_SECS,
            };
            let clearing = Clearing::start(&settings)?;
            let format: coalition::clearing::export::Format = format.parse()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let text = runtime.block_on(clearing.export(format, None, None));
            clearing.shutdown();
            print!("{}", text?);
        }
        Command::Demo { partners, keep } => demo::run(&partners, keep)?,
        Command::Bench {
            database,
            duration,
            concurrency,
            members,
            partners,
            json,
            settle_entries,
        } => {
            let options = bench::Options {
                database,
                partners,
                duration_secs: duration,
                concurrency: concurrency.max(1),
                members: members.max(1),
                json,
            };
            match settle_entries {
                Some(n) => bench_settle::run(&options, n.max(1))?,
                None => bench::run(&options)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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

fn keygen(out: &std::path::Path) -> Result<()> {
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
    println!(
        "wrote {} (private, mode 0600) and {}",
        private.display(),
        public.display()
    );
    println!(
        "\nAdd the public key to the partner's manifest:\n\n[[keys]]\nid = \"KEY-ID\"\npublic_key = \"\"\"\n{}\"\"\"",
        key.public_key().to_pem()
    );
    Ok(())
}

/// Prints each check; the exit code says whether all passed.
fn report(checks: &[Check], json: bool) -> ExitCode {
    let ok = checks.iter().all(|c| c.ok);
    if json {
        let body = serde_json::json!({ "ok": ok, "checks": checks });
        println!("{body}");
    } else {
        for c in checks {
            println!(
                "{} {:<28} {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            );
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
