//! HTTP: actix-web routes, request and response types, auth extractors and problem+json errors.
//! No SQL here: handlers call `clearing`.

pub mod auth;
pub mod codes;
pub mod coupons;
pub mod docs;
pub mod earn;
pub mod finance;
pub mod insights;
pub mod interactions;
pub mod liability;
pub mod links;
pub mod member_ref;
pub mod members;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod partner;
pub mod privacy;
pub mod problem;
pub mod profile;
pub mod public;
pub mod ratelimit;
pub mod replay;
pub mod reversals;
pub mod rewards;
pub mod segments;
pub mod settlements;
pub mod subscriptions;
pub mod webhooks;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, error, web};

use crate::clearing::Clearing;
use codes::ErrorCode;
use problem::ApiError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Seconds a worker waits for in-flight requests on shutdown.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// How often lapsed holds are looked for.
pub const HOLD_SWEEP_INTERVAL_MS: u64 = 1000;

/// What every handler can reach.
pub struct AppState {
    pub clearing: Arc<Clearing>,
    /// The base URL partners call, when it differs from what the server sees (a proxy).
    pub public_url: Option<String>,
    /// Signatures seen lately, so that a captured request cannot be sent again as another.
    pub replays: replay::ReplayGuard,
    /// Request counters for `/metrics`.
    pub http: metrics::HttpStats,
    /// Each partner's request budget.
    pub limits: ratelimit::RateLimiter,
    /// Each partner's budget of failed card look-ups, apart from its requests'.
    pub card_failures: ratelimit::RateLimiter,
    /// Each partner's budget of failed link codes.
    pub link_failures: ratelimit::RateLimiter,
    /// The pages' signed-in sessions.
    pub sessions: pages::session::Sessions,
}

/// How the HTTP server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub workers: usize,
    pub public_url: Option<String>,
    /// Requests per second each partner may make, sustained (bursts of two seconds' worth).
    pub rate_per_sec: u32,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            public_url: None,
            rate_per_sec: ratelimit::DEFAULT_RATE_PER_SEC,
        }
    }
}

/// Every route and the extractor settings, for the server and for tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .content_type_required(false)
            .error_handler(|e, _| json_error(e).into()),
    )
    .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::new(ErrorCode::NotFound, e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::new(ErrorCode::InvalidQuery, e.to_string()).into()),
    )
    .configure(register)
    .configure(pages::configure);
}

/// Declares every route once: [`register`] adds them to the server, and [`RoutePaths`] documents
/// the same list in the OpenAPI document (`openapi.rs` merges it), so the two cannot drift apart.
macro_rules! routes {
    ($($module:ident :: $handler:ident),+ $(,)?) => {
        /// Registers every route.
        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service($module::$handler);)+
        }

        /// The OpenAPI paths of every route.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($module::$handler),+))]
        pub struct RoutePaths;
    };
}

routes! {
    public::healthz,
    public::readyz,
    public::network,
    public::jwks,
    metrics::metrics,
    partner::enrol,
    partner::balances,
    earn::earn,
    earn::quote,
    interactions::record,
    partner::redeem,
    partner::capture,
    partner::void,
    reversals::reverse,
    partner::entry,
    partner::entries,
    coupons::create_campaign,
    coupons::campaign,
    coupons::issue_coupon,
    coupons::coupon,
    coupons::redeem_coupon,
    coupons::void_coupon,
    members::mint_token,
    members::wallet,
    members::my_entries,
    members::consent,
    members::authorize,
    members::convert,
    members::donate,
    links::create,
    links::list,
    links::leave,
    links::consent,
    links::replace_card,
    profile::mine,
    profile::of_member,
    profile::my_tier,
    profile::member_tier,
    subscriptions::subscribe,
    subscriptions::cancel,
    segments::create,
    segments::one,
    segments::members,
    rewards::create,
    rewards::list,
    rewards::claim_place,
    rewards::mine,
    rewards::offers,
    rewards::fulfil,
    rewards::cancel,
    insights::insights,
    privacy::export,
    privacy::erase,
    finance::trial_balance,
    finance::verify,
    liability::liability,
    settlements::settle,
    settlements::list,
    settlements::one,
    settlements::statement,
    settlements::pay,
    settlements::reconcile,
    settlements::export,
    webhooks::put_endpoint,
    webhooks::get_endpoint,
    webhooks::delete_endpoint,
    webhooks::deliveries,
    webhooks::retry,
    docs::openapi_json,
    docs::docs_page,
}

fn json_error(e: error::JsonPayloadError) -> ApiError {
    match e {
        error::JsonPayloadError::OverflowKnownLength { .. }
        | error::JsonPayloadError::Overflow { .. } => ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        ),
        other => ApiError::new(ErrorCode::InvalidJson, other.to_string()),
    }
}

/// No route matched: `405` with `Allow` when the path is one of the API's under another method,
/// `404` otherwise.
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let allowed = openapi::methods_at(req.path());
    if allowed.is_empty() {
        return Err(ApiError::new(ErrorCode::NotFound, "no such route"));
    }
    let allow = allowed.join(", ");
    Err(ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not served here; {} {allow}",
            req.method(),
            req.path()
        ),
    )
    .allow(allow))
}

/// Seconds in a day: the tier sweep's period.
const SECS_PER_DAY: i64 = 86_400;

/// The service's background work, forever: the daily tier sweep, points expiry, lapsed holds
/// and coupons, and the segment worker.
async fn sweep(sweeper: Arc<Clearing>) {
    // The tier sweep runs once a day (by the service's clock), and once at start.
    let mut tiers_swept_day = None;
    let mut points_swept_minute = None;
    loop {
        let today = sweeper.clock().now_secs() / SECS_PER_DAY;
        if tiers_swept_day != Some(today) {
            match sweeper.sweep_tiers().await {
                Ok(n) => {
                    tiers_swept_day = Some(today);
                    if n > 0 {
                        tracing::info!(members = n, "tier sweep changed members' tiers");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "tier sweep failed; retrying"),
            }
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(HOLD_SWEEP_INTERVAL_MS)).await;
        // Points expire at most once a minute of the service's clock.
        let minute = sweeper.clock().now_secs() / 60;
        if points_swept_minute != Some(minute) {
            match sweeper.expire_points().await {
                Ok(done) => {
                    points_swept_minute = Some(minute);
                    if done.entries > 0 {
                        tracing::info!(entries = done.entries, lots = done.lots, "points expired");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "points expiry sweep failed; retrying"),
            }
            match sweeper.send_expiry_notices().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(notices = n, "points expiring: issuers notified"),
                Err(e) => tracing::warn!(error = %e, "expiry notices failed; retrying"),
            }
        }
        match sweeper.expire_due_holds().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(holds = n, "expired lapsed holds"),
            Err(e) => tracing::warn!(error = %e, "hold sweep failed; retrying"),
        }
        match sweeper.expire_due_coupons().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(coupons = n, "released the reservations of expired coupons")
            }
            Err(e) => tracing::warn!(error = %e, "coupon sweep failed; retrying"),
        }
        // Segments follow the members the writer touched (every member once a day), and
        // targeted campaigns issue to those who entered.
        match sweeper.evaluate_segments().await {
            Ok(done) if done.entered + done.left + done.coupons_issued > 0 => {
                tracing::info!(
                    entered = done.entered,
                    left = done.left,
                    coupons = done.coupons_issued,
                    full_pass = done.full_pass,
                    "segments evaluated"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "segment evaluation failed; retrying"),
        }
    }
}

/// How often the webhook worker looks for events due.
const DELIVERY_LOOK_MS: u64 = 100;

/// The webhook worker, forever: starts the attempts that are due (each on its own task).
async fn deliver(clearing: Arc<Clearing>) {
    loop {
        if let Err(e) = clearing.start_due_deliveries().await {
            tracing::warn!(error = %e, "webhook delivery round failed; retrying");
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(DELIVERY_LOOK_MS)).await;
    }
}

/// Builds the HTTP server on `listen` (e.g. `127.0.0.1:8080`, port 0 for any free port).
/// Must run inside an actix system: it also starts the sweeper that expires lapsed holds.
pub fn server(
    clearing: Arc<Clearing>,
    listen: &str,
    options: ServerOptions,
) -> io::Result<(actix_web::dev::Server, Vec<SocketAddr>)> {
    actix_web::rt::spawn(sweep(clearing.clone()));
    actix_web::rt::spawn(deliver(clearing.clone()));
    let workers = options.workers;
    let state = web::Data::new(AppState {
        clearing,
        public_url: options.public_url,
        replays: replay::ReplayGuard::default(),
        http: metrics::HttpStats::default(),
        limits: ratelimit::RateLimiter::new(options.rate_per_sec),
        card_failures: ratelimit::RateLimiter::new(ratelimit::CARD_FAILURES_PER_SEC),
        link_failures: ratelimit::RateLimiter::new(ratelimit::LINK_CODE_FAILURES_PER_SEC),
        sessions: pages::session::Sessions::default(),
    });
    let http = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(
                DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .wrap(actix_web::middleware::from_fn(metrics::observe))
            .configure(configure)
            .default_service(web::to(not_found))
    })
    .workers(workers.max(1))
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .bind(listen)?;
    let addrs = http.addrs();
    Ok((http.run(), addrs))
}

/// A server running on its own thread (tests, `coalition demo`). Stops when dropped.
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    pub fn start(clearing: Arc<Clearing>, listen: &str) -> io::Result<Self> {
        Self::start_with(clearing, listen, ServerOptions::default())
    }

    pub fn start_with(
        clearing: Arc<Clearing>,
        listen: &str,
        options: ServerOptions,
    ) -> io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let listen = listen.to_owned();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match server(clearing, &listen, options) {
                        Ok((srv, addrs)) => {
                            let _ = tx.send(Ok((srv.handle(), addrs)));
                            srv.await
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            Ok(())
                        }
                    }
                })
            })?;
        let (handle, addrs) = rx
            .recv()
            .map_err(|_| io::Error::other("server thread died"))??;
        let addr = addrs
            .first()
            .copied()
            .ok_or_else(|| io::Error::other("server bound no address"))?;
        Ok(Self {
            addr,
            handle,
            thread: Some(thread),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; the returned future only awaits it.
        drop(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
