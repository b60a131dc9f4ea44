//! How Confab connects to PostgreSQL: in plaintext to a server on this machine (loopback or
//! a Unix socket) unless the URL or `PGSSLMODE` names an `sslmode`; elsewhere as sqlx does
//! (`prefer`: TLS when the server offers it).

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::json;

use crate::util::TestApp;

/// Every connection of the server's pools to its database, read from PostgreSQL's own
/// `pg_stat_ssl`: (connections, how many of them use TLS).
async fn connections_with_tls(app: &TestApp) -> (i64, i64) {
    let sql = "SELECT count(*) AS open, count(*) FILTER (WHERE s.ssl) AS tls \
               FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
               WHERE a.datname = current_database()";
    let row = app
        .db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "open").unwrap(),
        row.try_get("", "tls").unwrap(),
    )
}

#[actix_web::test]
async fn postgres_on_this_machine_is_reached_without_tls_unless_asked() {
    let mut url = String::new();
    let Some(app) = TestApp::postgres_with(|config| url = config.database.url.clone()).await else {
        return;
    };
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let on_loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let show = Statement::from_string(DatabaseBackend::Postgres, "SHOW ssl");
    let row = app.db.query_one_raw(show).await.unwrap().unwrap();
    let server_offers_tls = row.try_get::<String>("", "ssl").unwrap() == "on";
    // A request through the server, so that its HTTP workers' pools hold connections too.
    let (ann, _) = app.register("ann").await;
    let data = app.ok(Some(&ann), "{ me { username } }", json!({})).await;
    assert_eq!(data["me"]["username"], "ann");
    let (open, tls) = connections_with_tls(&app).await;
    assert!(open >= 2, "the pools hold {open} connections");
    if on_loopback && std::env::var_os("PGSSLMODE").is_none() {
        assert_eq!(tls, 0, "{tls} of {open} connections on loopback use TLS");
    }
    app.stop().await;

    // Asked for in the URL, TLS is used on loopback too.
    if !server_offers_tls {
        eprintln!("skipped the sslmode=require half: this PostgreSQL has ssl = off");
        return;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let Some(app) = TestApp::postgres_with(|config| {
        config.database.url = format!("{}{separator}sslmode=require", config.database.url);
    })
    .await
    else {
        return;
    };
    let (ann, _) = app.register("ann").await;
    app.ok(Some(&ann), "{ me { username } }", json!({})).await;
    let (open, tls) = connections_with_tls(&app).await;
    assert!(open >= 2, "the pools hold {open} connections");
    assert_eq!(
        tls, open,
        "sslmode=require: {tls} of {open} connections use TLS"
    );
    app.stop().await;
}
