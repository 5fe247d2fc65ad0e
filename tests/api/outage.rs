//! A database outage: while PostgreSQL refuses connections the service answers 503
//! problem+json and writes nothing half-way; when the database is back it serves again, without
//! a restart. (PostgreSQL only: an embedded SQLite file does not go away on its own.)

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::json;

use crate::common::{Api, BACKEND_ENV};

#[test]
fn a_database_outage_gives_503_and_recovers_without_restart() {
    let Some(base) = std::env::var(BACKEND_ENV)
        .ok()
        .filter(|v| v.starts_with("postgres"))
    else {
        eprintln!("outage test runs on the PostgreSQL backend only");
        return;
    };
    // This test needs a database of its own: it closes it to connections.
    let name = format!("outage_{}", uuid::Uuid::new_v4().simple());
    let admin_url = base
        .rsplit_once('/')
        .map(|(server, _)| format!("{server}/postgres"))
        .unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let api = Api::on_database(&url);
    let member = api.member("aroma");
    api.earn("aroma", &member, "10");
    let entries = api.entry_count();

    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
        .unwrap();
    let during_write = api.post(
        "aroma",
        "/v1/earn",
        &json!({ "member_id": member, "points": "5", "reference": "outage" }),
    );
    assert_eq!(
        (during_write.status, during_write.code().as_str()),
        (503, "unavailable"),
        "{}",
        during_write.body
    );
    assert!(during_write.header("retry-after").is_some());
    let during_read = api.get("aroma", &format!("/v1/members/{member}/balances"));
    assert_eq!(during_read.status, 503, "{}", during_read.body);
    assert_eq!(
        crate::common::send("GET", &api.url("/readyz"), &[], None).status,
        503
    );
    assert_eq!(
        crate::common::send("GET", &api.url("/healthz"), &[], None).status,
        200,
        "the process itself is fine"
    );

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        let r = api.post(
            "aroma",
            "/v1/earn",
            &json!({ "member_id": member, "points": "5", "reference": "after" }),
        );
        if r.status != 503 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        api.balance("aroma", &member),
        "15",
        "the write during the outage left nothing behind"
    );
    assert_eq!(api.entry_count(), entries + 1);
    api.verify();
    drop(api);
    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
