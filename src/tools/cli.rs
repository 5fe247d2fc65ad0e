//! The `coalition` command line: its commands and arguments. The arguments every command that
//! opens the service shares are declared once ([`ServiceArgs`]) and honour the same environment
//! variables as `serve`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::api;
use crate::clearing::export::Format;
use crate::clearing::tokens::{DEFAULT_FINANCE_TOKEN_TTL_SECS, Role};
use crate::clearing::{DEFAULT_HOLD_TTL_SECS, Settings};
use crate::store::DatabaseUrl;

#[derive(Parser)]
#[command(
    name = "coalition",
    version,
    about = "Clearing service for a partner network of loyalty programs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the database is.
#[derive(clap::Args, Clone, Debug)]
pub struct DatabaseArg {
    /// sqlite://PATH (embedded, the default) or postgres://USER@HOST:PORT/DB
    #[arg(
        long,
        env = "COALITION_DATABASE_URL",
        default_value = "sqlite://coalition.db"
    )]
    pub database: String,
}

impl DatabaseArg {
    pub fn url(&self) -> Result<DatabaseUrl> {
        self.database.parse().context("--database")
    }
}

/// The manifests folder.
#[derive(clap::Args, Clone, Debug)]
pub struct PartnersArg {
    /// Folder with network.toml and one manifest per partner.
    #[arg(long, env = "COALITION_PARTNERS", default_value = "partners")]
    pub partners: PathBuf,
}

/// What every command that opens the service needs: database, manifests and network key.
#[derive(clap::Args, Clone, Debug)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub db: DatabaseArg,
    #[command(flatten)]
    pub partners: PartnersArg,
    /// The network's Ed25519 signing key (PKCS#8 PEM); created when missing. Default:
    /// beside the SQLite file, or ./coalition.network-key.pem for PostgreSQL.
    #[arg(long, env = "COALITION_NETWORK_KEY")]
    pub network_key: Option<PathBuf>,
}

impl ServiceArgs {
    /// The one place the CLI turns its arguments into the service's settings.
    pub fn settings(&self) -> Result<Settings> {
        Ok(
            Settings::new(self.db.url()?, self.partners.partners.clone())
                .with_network_key(self.network_key.clone()),
        )
    }
}

/// Who a finance-side token is for.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleArg {
    Finance,
    Operator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Finance => Role::Finance,
            RoleArg::Operator => Role::Operator,
        }
    }
}

/// A journal export's format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    Csv,
    Ledger,
    Beancount,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Ledger => Format::Ledger,
            FormatArg::Beancount => Format::Beancount,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Migrate the database if needed, load the partner manifests and serve the API.
    Serve {
        #[command(flatten)]
        service: ServiceArgs,
        #[arg(long, env = "COALITION_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// HTTP worker threads (default: one per core but one, which the writer thread keeps
        /// busy; at least one).
        #[arg(long, env = "COALITION_WORKERS")]
        workers: Option<usize>,
        /// Seconds an uncaptured hold lasts before its points go back to the member.
        #[arg(long, env = "COALITION_HOLD_TTL_SECS", default_value_t = DEFAULT_HOLD_TTL_SECS)]
        hold_ttl_secs: u64,
        /// The URL partners call when the service sits behind a proxy (e.g.
        /// https://api.example.com); signatures over `@target-uri` are checked against it.
        #[arg(long, env = "COALITION_PUBLIC_URL")]
        public_url: Option<String>,
        /// Requests per second each partner may make, sustained (bursts of two seconds' worth);
        /// over it a partner gets 429 with Retry-After.
        #[arg(long, env = "COALITION_RATE_PER_SEC", default_value_t = api::ratelimit::DEFAULT_RATE_PER_SEC)]
        rate_per_sec: u32,
        /// Let webhooks go to loopback and private addresses (development and tests only:
        /// otherwise such endpoints are refused, at registration and at every connection).
        #[arg(long, env = "COALITION_ALLOW_PRIVATE_WEBHOOKS")]
        allow_private_webhooks: bool,
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
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Limit a finance token to one partner's own figures.
        #[arg(long)]
        partner: Option<String>,
        /// Lifetime in seconds (at most 30 days).
        #[arg(long, default_value_t = DEFAULT_FINANCE_TOKEN_TTL_SECS)]
        ttl: u64,
        /// Print a one-time sign-in link to the console instead of the token.
        #[arg(long)]
        login: bool,
        /// Where the service is reached, for `--login`.
        #[arg(
            long,
            env = "COALITION_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        url: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Close a settlement cycle at the cut-off (as `POST /v1/settlements`) and print it as JSON.
    Settle {
        /// RFC 3339, e.g. 2026-11-30T23:59:59Z; not in the future.
        #[arg(long)]
        cutoff: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Print the journal as CSV, a ledger-cli/hledger journal or a beancount file.
    Export {
        #[arg(long, value_enum)]
        format: FormatArg,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Recompute the member profiles from the journal, in one write (writes wait meanwhile).
    /// Progress goes to stderr; the count of entries read to stdout.
    RebuildAggregates {
        #[command(flatten)]
        service: ServiceArgs,
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
        #[command(flatten)]
        partners: PartnersArg,
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
        #[command(flatten)]
        partners: PartnersArg,
        /// One JSON line instead of the human summary.
        #[arg(long)]
        json: bool,
        /// Instead of the HTTP load: write this many entries in-process, then time closing one
        /// settlement cycle over all of them (and verify the ledger).
        #[arg(long)]
        settle_entries: Option<u64>,
        /// The earns carry a five-line basket, and Aroma gets ten earn rules that all apply.
        #[arg(long)]
        basket: bool,
        /// Instead of the HTTP load: seed this many members, then time the segment worker's
        /// pass over all of them while a probe measures how long a write waits meanwhile.
        #[arg(long, conflicts_with = "settle_entries")]
        segment_members: Option<u64>,
        /// Instead of the HTTP load: seed this many lots of STYLE points (ten per member) by
        /// real earns, move the clock past their expiry, and time the sweeps that expire them
        /// while a probe measures how long a write waits meanwhile.
        #[arg(long, conflicts_with_all = ["settle_entries", "segment_members"])]
        expiring_lots: Option<u64>,
    },
    /// A scripted tour on a throwaway SQLite file with freshly generated partner keys.
    Demo {
        /// The manifests to tour (their keys are replaced by generated ones).
        #[command(flatten)]
        partners: PartnersArg,
        /// Keep the throwaway folder instead of deleting it at the end.
        #[arg(long)]
        keep: bool,
        /// After the tour, keep serving on this address (such as 127.0.0.1:8080), printing
        /// sign-in links to the console and to the demo member's wallet, until Ctrl-C.
        #[arg(long, value_name = "ADDR")]
        stay: Option<String>,
    },
}

impl Command {
    /// `coalition demo`, which logs only warnings unless `RUST_LOG` says otherwise.
    pub fn is_demo(&self) -> bool {
        matches!(self, Command::Demo { .. })
    }
}
