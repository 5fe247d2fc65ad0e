//! The use cases: the clearing service that the API and the CLI drive. It owns the configured
//! network, the store and the network's signing key, and turns requests into ledger entries.

pub mod campaigns;
pub mod cards;
pub mod codes;
mod context;
pub mod coupons;
pub mod earn;
pub mod earn_rules;
mod error;
pub mod expiry;
pub mod expiry_notices;
pub mod export;
pub mod input;
pub mod insights;
pub mod interactions;
pub mod liability;
pub mod links;
pub mod members;
pub mod partner;
pub mod privacy;
pub mod profile;
pub mod reads;
pub mod reasons;
pub mod receipt;
pub mod reconcile;
pub mod reversal;
pub mod rewards;
pub mod rules;
pub mod segments;
pub mod settlement;
pub mod statement;
pub mod subscriptions;
pub mod tiers;
pub mod time;
pub mod tokens;
pub mod trust;
pub mod views;
pub mod webhooks;
pub mod write;

pub use context::Context;
pub use error::{
    AuthorizationRefused, BadAmount, BudgetShort, ClearingError, CouponRefusal, CsvProblem,
    HoldState, Invalid, Irreversible, Missing,
};

use std::path::PathBuf;
use std::sync::Arc;

use crate::crypto::{Jwk, KeyError, SigningKey};
use crate::ledger::clock::Clock;
use crate::ledger::{
    Account, Amount, Check, CommittedEntry, EntryId, EntryKind, EntryMeta, MemberId, PartnerId,
    UnitCode, Units,
};
use crate::partners::{ManifestError, Network};
pub use crate::store::sequencer::{BATCH_BUCKETS, BatchStats};
pub use crate::store::status::{
    CouponStatus, EntryStatus, OperationKind, OperationStatus, SettlementStatus,
};
use crate::store::{self, DatabaseUrl, Store, StoreError};

/// Where the service finds its database, manifests and key.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseUrl,
    pub partners_dir: PathBuf,
    /// The network's Ed25519 key (PKCS#8 PEM); created on first start when missing.
    pub network_key: Option<PathBuf>,
    /// How long an uncaptured hold lasts before its points go back to the member.
    pub hold_ttl_secs: u64,
    /// The clock the service reads: the system's unless a test brings its own.
    pub clock: Clock,
    /// Webhooks may go to loopback and private addresses (development and tests only).
    pub allow_private_webhooks: bool,
}

/// Holds lapse after 15 minutes unless configured otherwise.
pub const DEFAULT_HOLD_TTL_SECS: u64 = 15 * 60;

impl Settings {
    /// The service on `database` with the manifests in `partners_dir`, the network key where
    /// `serve` keeps it by default, and holds lapsing after [`DEFAULT_HOLD_TTL_SECS`].
    pub fn new(database: DatabaseUrl, partners_dir: impl Into<PathBuf>) -> Self {
        Self {
            database,
            partners_dir: partners_dir.into(),
            network_key: None,
            hold_ttl_secs: DEFAULT_HOLD_TTL_SECS,
            clock: Clock::system(),
            allow_private_webhooks: false,
        }
    }

    /// The service reads `clock`: a test keeps a clone to let time pass.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The network's key from this file (created when missing) instead of the default place.
    pub fn with_network_key(mut self, path: Option<PathBuf>) -> Self {
        self.network_key = path;
        self
    }

    /// Lets webhooks reach loopback and private addresses (development and tests).
    pub fn with_private_webhooks(mut self, allow: bool) -> Self {
        self.allow_private_webhooks = allow;
        self
    }

    pub fn with_hold_ttl_secs(mut self, secs: u64) -> Self {
        self.hold_ttl_secs = secs;
        self
    }

    /// The key file used when none is configured: beside the SQLite file, or in the working
    /// folder for PostgreSQL.
    pub fn network_key_path(&self) -> PathBuf {
        if let Some(p) = &self.network_key {
            return p.clone();
        }
        match &self.database {
            DatabaseUrl::Sqlite(db) => db.with_extension("network-key.pem"),
            DatabaseUrl::Postgres(_) => PathBuf::from("coalition.network-key.pem"),
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("network key: {0}")]
    Key(#[from] KeyError),
    #[error("building the member profiles: {0}")]
    Profile(ClearingError),
}

/// The running service.
pub struct Clearing {
    ctx: Arc<Context>,
    store: Arc<Store>,
    /// The segment worker's state.
    segments: segments::EvaluationState,
    /// Where each `inactivity` unit's expiry sweep is in the members.
    expiry: expiry::SweepState,
    webhooks: webhooks::Delivery,
    notices: expiry_notices::NoticeState,
}

impl Clearing {
    /// Loads the manifests, opens (and migrates) the database, records the units and loads or
    /// creates the network key. Blocking: call before serving.
    pub fn start(settings: &Settings) -> Result<Arc<Self>, StartError> {
        let network = Network::load(&settings.partners_dir)?;
        let store = Store::open_observed(
            &settings.database,
            settings.clock.clone(),
            Some(profile::observer(&network)),
        )?;
        let configured = network.units.clone();
        let partners: Vec<(String, String)> = network
            .partners
            .values()
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect();
        let units =
            store.write_blocking(move |tx| store::network::sync(tx, &configured, &partners))?;
        let carded = cards::issue_missing_cards(&store, &network.card_prefix)?;
        if carded > 0 {
            tracing::info!(
                members = carded,
                "issued cards to members enrolled before cards"
            );
        }
        profile::build_if_missing(&store, &network).map_err(StartError::Profile)?;
        let key_path = settings.network_key_path();
        let (key, created) = SigningKey::load_or_create(&key_path)?;
        if created {
            tracing::info!(path = %key_path.display(), "created the network signing key");
        }
        let kid = key.public_key().jwk().kid;
        let tokens = tokens::TokenKeys::new(&key, &kid);
        let ctx = Context {
            network,
            units,
            key,
            kid,
            tokens,
            hold_ttl_secs: settings.hold_ttl_secs,
            clock: settings.clock.clone(),
        };
        Ok(Arc::new(Self {
            ctx: Arc::new(ctx),
            store,
            segments: segments::EvaluationState::default(),
            expiry: expiry::SweepState::default(),
            webhooks: webhooks::Delivery::new(settings.allow_private_webhooks),
            notices: expiry_notices::NoticeState::default(),
        }))
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    pub fn network(&self) -> &Network {
        &self.ctx.network
    }

    pub fn units(&self) -> &Units {
        &self.ctx.units
    }

    /// The names of `member`'s accounts in every unit of the network, for reading its balances.
    pub(crate) fn member_accounts(&self, member: MemberId) -> Vec<String> {
        self.ctx
            .units
            .iter()
            .map(|u| {
                Account::Member {
                    member,
                    unit: u.code.clone(),
                }
                .to_string()
            })
            .collect()
    }

    /// The clock the service reads.
    pub fn clock(&self) -> &Clock {
        &self.ctx.clock
    }

    /// What the writer has done: batches committed and rolled back, and their sizes.
    pub fn write_stats(&self) -> &BatchStats {
        self.store.batch_stats()
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The network's public keys (receipts, statements, member tokens).
    pub fn jwks(&self) -> Vec<Jwk> {
        vec![self.ctx.key.public_key().jwk()]
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.ctx.key
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> Result<(), ClearingError> {
        Ok(self.store.ping().await?)
    }

    fn partner_unit(
        &self,
        partner: &PartnerId,
        unit: Option<UnitCode>,
    ) -> Result<UnitCode, ClearingError> {
        let p = self
            .ctx
            .network
            .partner(partner)
            .ok_or_else(|| ClearingError::UnknownPartner(partner.to_string()))?;
        unit.or_else(|| p.unit.clone())
            .ok_or_else(|| ClearingError::NoOwnUnit(partner.clone()))
    }

    fn points(&self, unit: &UnitCode, points: Amount) -> Result<Amount, ClearingError> {
        let scale = self
            .ctx
            .units
            .scale_of(unit)
            .ok_or_else(|| ClearingError::UnknownUnit(unit.to_string()))?;
        if points.scale() != scale {
            return Err(ClearingError::InvalidAmount(BadAmount::Scale {
                unit: unit.clone(),
                places: scale.places(),
            }));
        }
        if !points.is_positive() {
            return Err(ClearingError::InvalidAmount(BadAmount::NotPositive));
        }
        Ok(points)
    }

    /// Posts the entry of `points` earned by `member` at `partner` (its own unit unless `unit`
    /// names one) with none of the partner API's checks: no enrolment, no idempotency. For
    /// tests and tools; partners go through [`Clearing::earn_work`].
    pub async fn post_earn(
        &self,
        partner: &PartnerId,
        member: MemberId,
        unit: Option<UnitCode>,
        points: Amount,
        mut meta: EntryMeta,
    ) -> Result<CommittedEntry, ClearingError> {
        let unit = self.partner_unit(partner, unit)?;
        let points = self.points(&unit, points)?;
        meta.kind = EntryKind::Earn;
        meta.partner = Some(partner.clone());
        meta.member = Some(member);
        let entry = rules::earn(&self.ctx.network, partner, member, &unit, points, meta)?
            .balance(&self.ctx.units)?;
        self.store
            .write(move |tx| tx.post(entry).map_err(ClearingError::from))
            .await
    }

    /// Posts the entry of `member` spending `points` of `unit` at `partner` with none of the
    /// partner API's checks: no enrolment, no member authorisation for another brand's unit.
    /// For tests and tools; partners go through [`Clearing::redeem_work`].
    pub async fn post_redemption(
        &self,
        partner: &PartnerId,
        member: MemberId,
        unit: UnitCode,
        points: Amount,
        mut meta: EntryMeta,
    ) -> Result<CommittedEntry, ClearingError> {
        self.partner_unit(partner, Some(unit.clone()))?;
        let points = self.points(&unit, points)?;
        meta.kind = EntryKind::Redemption;
        meta.partner = Some(partner.clone());
        meta.member = Some(member);
        let entry = rules::redeem(&self.ctx.network, partner, member, &unit, points, meta)?
            .balance(&self.ctx.units)?;
        self.store
            .write(move |tx| tx.post(entry).map_err(ClearingError::from))
            .await
    }

    /// One entry, checked as it is read back.
    pub async fn entry(&self, id: EntryId) -> Result<Option<CommittedEntry>, ClearingError> {
        let units = self.ctx.units.clone();
        Ok(self
            .store
            .read(move |c| store::ledger::entry_by_id(c, id, &units))
            .await?)
    }

    /// An account's balance as an amount of its unit, signed, debit positive.
    pub async fn balance(&self, account: &Account) -> Result<Amount, ClearingError> {
        let scale = self
            .ctx
            .units
            .scale_of(account.unit())
            .ok_or_else(|| ClearingError::UnknownUnit(account.unit().to_string()))?;
        let name = account.to_string();
        let minor = self
            .store
            .read(move |c| store::ledger::balance_of(c, &name))
            .await?;
        Ok(Amount::from_minor(minor, scale))
    }

    /// What each issuer has outstanding, per points unit: `(issuer, unit, points)`.
    pub async fn outstanding(
        &self,
    ) -> Result<Vec<(crate::ledger::Party, UnitCode, crate::ledger::Amount)>, ClearingError> {
        let units: Vec<String> = self
            .ctx
            .units
            .iter()
            .filter(|u| u.is_points())
            .map(|u| u.code.to_string())
            .collect();
        let rows = self
            .store
            .read(move |c| store::ledger::issuer_balances(c, &units))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (name, unit, balance) in rows {
            let Ok(Account::Issuer { issuer, unit: code }) = name.parse::<Account>() else {
                continue;
            };
            let scale = self.ctx.scale(&code)?;
            debug_assert_eq!(code.as_str(), unit);
            out.push((
                issuer,
                code,
                crate::ledger::Amount::from_minor(balance, scale),
            ));
        }
        Ok(out)
    }

    /// Every account balance, read in one snapshot.
    pub async fn balances_snapshot(&self) -> Result<Vec<crate::ledger::RawBalance>, ClearingError> {
        Ok(self.store.read(store::ledger::balances_snapshot).await?)
    }

    /// Every ledger invariant over one consistent snapshot.
    pub async fn verify(&self) -> Result<Vec<Check>, ClearingError> {
        let units = self.ctx.units.clone();
        Ok(self
            .store
            .read(move |c| store::ledger::verify(c, &units))
            .await?)
    }

    /// Lets queued writes commit, then stops the writer.
    pub fn shutdown(&self) {
        self.store.shutdown();
    }
}

/// Runs the ledger invariants on a database without loading any manifests (`coalition verify`).
pub fn verify_database(url: &DatabaseUrl) -> Result<Vec<Check>, StoreError> {
    let store = Store::open(url, Clock::system())?;
    let checks = store.read_blocking(|c| {
        let units = store::network::load_units(c)?;
        store::ledger::verify(c, &units)
    });
    store.shutdown();
    checks
}
