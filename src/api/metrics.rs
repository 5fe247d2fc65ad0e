//! Request ids, one structured log line per request, and `/metrics` in Prometheus text.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, get, web};

use super::AppState;
use crate::clearing::{BATCH_BUCKETS, BatchStats};

/// Upper bounds, in seconds, of the latency histogram's buckets.
pub const LATENCY_BUCKETS_SECS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];
/// The longest request id taken from a caller's `X-Request-Id`.
pub const MAX_REQUEST_ID_CHARS: usize = 64;

/// HTTP counters since the process started.
#[derive(Debug, Default)]
pub struct HttpStats {
    by_class: [AtomicU64; 5],
    latency: [AtomicU64; LATENCY_BUCKETS_SECS.len()],
    latency_sum_us: AtomicU64,
    count: AtomicU64,
    /// Card look-ups: found, failed (unknown, replaced, malformed), refused over the budget.
    cards: [AtomicU64; 3],
}

/// What a card look-up came to, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub enum CardLookup {
    Found = 0,
    Failed = 1,
    Limited = 2,
}

impl HttpStats {
    pub fn card_lookup(&self, outcome: CardLookup) {
        self.cards[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, status: u16, elapsed_us: u64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(elapsed_us, Ordering::Relaxed);
        let secs = elapsed_us as f64 / 1e6;
        for (bound, bucket) in LATENCY_BUCKETS_SECS.iter().zip(&self.latency) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID_CHARS
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Gives every request an id (the caller's `X-Request-Id` when it is sane), answers with it,
/// logs one line per request (never headers or bodies: they carry signatures and tokens) and
/// counts it.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let stats = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let status = res.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    if let Some(state) = stats {
        state.http.record(status, elapsed_us);
    }
    if status >= 500 {
        tracing::error!(request_id = %id, %method, %path, status, latency_us = elapsed_us, "request failed");
    } else {
        tracing::info!(request_id = %id, %method, %path, status, latency_us = elapsed_us, "request");
    }
    Ok(res)
}

/// Prometheus text: requests by status class, latency, and the writer's batches.
#[utoipa::path(get, path = "/metrics", tag = "public", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::new();
    http_metrics(&mut out, &state.http);
    writer_metrics(&mut out, state.clearing.write_stats());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

/// Requests by status class, errors, and the latency histogram.
fn http_metrics(out: &mut String, h: &HttpStats) {
    out.push_str("# HELP coalition_http_requests_total HTTP requests answered, by status class.\n# TYPE coalition_http_requests_total counter\n");
    for (i, c) in h.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "coalition_http_requests_total{{class=\"{}xx\"}} {}",
            i + 1,
            c.load(Ordering::Relaxed)
        );
    }
    let errors = h.by_class[3].load(Ordering::Relaxed) + h.by_class[4].load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP coalition_http_errors_total Requests answered with a 4xx or 5xx.\n# TYPE coalition_http_errors_total counter\ncoalition_http_errors_total {errors}"
    );
    out.push_str("# HELP coalition_http_request_duration_seconds Time to answer a request.\n# TYPE coalition_http_request_duration_seconds histogram\n");
    for (bound, c) in LATENCY_BUCKETS_SECS.iter().zip(&h.latency) {
        let _ = writeln!(
            out,
            "coalition_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
            c.load(Ordering::Relaxed)
        );
    }
    let count = h.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "coalition_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "coalition_http_request_duration_seconds_sum {}",
        h.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "coalition_http_request_duration_seconds_count {count}");
    out.push_str("# HELP coalition_card_lookups_total Partner calls naming a member by card, by outcome.\n# TYPE coalition_card_lookups_total counter\n");
    for (name, c) in ["found", "failed", "limited"].iter().zip(&h.cards) {
        let _ = writeln!(
            out,
            "coalition_card_lookups_total{{result=\"{name}\"}} {}",
            c.load(Ordering::Relaxed)
        );
    }
}

/// The writer's batches by outcome and size, and the SQLite log's syncs.
fn writer_metrics(out: &mut String, b: &BatchStats) {
    let committed = b.committed.load(Ordering::Relaxed);
    let failed = b.failed.load(Ordering::Relaxed);
    out.push_str("# HELP coalition_write_batches_total Write transactions (group commits), by outcome.\n# TYPE coalition_write_batches_total counter\n");
    let _ = writeln!(
        out,
        "coalition_write_batches_total{{outcome=\"committed\"}} {committed}"
    );
    let _ = writeln!(
        out,
        "coalition_write_batches_total{{outcome=\"rolled_back\"}} {failed}"
    );
    out.push_str("# HELP coalition_write_batch_jobs Writes per batch.\n# TYPE coalition_write_batch_jobs histogram\n");
    for (bound, c) in BATCH_BUCKETS.iter().zip(&b.by_size) {
        let _ = writeln!(
            out,
            "coalition_write_batch_jobs_bucket{{le=\"{bound}\"}} {}",
            c.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "coalition_write_batch_jobs_bucket{{le=\"+Inf\"}} {}",
        committed + failed
    );
    let _ = writeln!(
        out,
        "coalition_write_batch_jobs_sum {}",
        b.jobs.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "coalition_write_batch_jobs_count {}",
        committed + failed
    );
    out.push_str("# HELP coalition_log_syncs_total Syncs of the SQLite write-ahead log (each answers every batch committed before it).\n# TYPE coalition_log_syncs_total counter\n");
    let _ = writeln!(
        out,
        "coalition_log_syncs_total {}",
        b.log_syncs.ended.load(Ordering::Relaxed)
    );
}
