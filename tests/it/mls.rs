//! MLS ciphertext with epochs, key packages claimed exactly once, connection logs and stats.

use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const SEND: &str = "mutation($i: SendCiphertextInput!) { sendCiphertext(input: $i) { id kind body ciphertext epoch } }";
const EPOCH: &str = "query($r: UUID!) { room(id: $r) { epoch } }";
const PUBLISH: &str = "mutation($i: [KeyPackageInput!]!) { publishKeyPackages(input: $i) }";
const CLAIM: &str = "mutation($u: UUID!) { claimKeyPackage(userId: $u, cipherSuite: 1) { id keyData keyHash ownerId } }";
const COUNT: &str = "query($u: UUID!) { keyPackageCount(userId: $u, cipherSuite: 1) }";
const LOG: &str = "mutation($i: ConnectionEventInput!) { logConnectionEvent(input: $i) }";
const STATS: &str = "query($r: UUID) { connectionStats(roomId: $r) { total users byEvent { event count } avgRttMs p95RttMs avgJitterMs avgPacketLoss } }";

on_both_backends!(
    ciphertext_follows_the_epoch,
    key_packages_are_claimed_once,
    connection_logs_and_stats
);

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn ciphertext_follows_the_epoch(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let room = app.create_room(&ann, "mls", &[&bob_id]).await;
    let msg = |kind: &str, epoch: i64, data: &str| json!({ "i": { "roomId": room, "kind": kind, "ciphertext": data, "epoch": epoch } });
    let secret = b64(b"\x00\x01opaque mls bytes\xff");

    let app_msg = app.ok(Some(&ann), SEND, msg("APP", 0, &secret)).await;
    assert_eq!(app_msg["sendCiphertext"]["kind"], "APP");
    assert_eq!(app_msg["sendCiphertext"]["ciphertext"], secret);
    assert!(app_msg["sendCiphertext"]["body"].is_null());
    assert_eq!(
        first_error(&app.gql(Some(&ann), SEND, msg("APP", 1, &secret)).await).0,
        "CONFLICT"
    );

    let commit = app.ok(Some(&bob), SEND, msg("COMMIT", 0, &secret)).await;
    assert_eq!(commit["sendCiphertext"]["epoch"], 0);
    assert_eq!(
        app.ok(Some(&ann), EPOCH, json!({ "r": room })).await["room"]["epoch"],
        1
    );
    assert_eq!(
        first_error(&app.gql(Some(&ann), SEND, msg("APP", 0, &secret)).await).0,
        "CONFLICT"
    );

    // Many commits race for epoch 1: exactly one wins.
    let racers = join_all((0..8).map(|i| {
        let token = if i % 2 == 0 { &ann } else { &bob };
        app.gql(Some(token), SEND, msg("COMMIT", 1, &secret))
    }))
    .await;
    let won = racers.iter().filter(|r| r.get("errors").is_none()).count();
    assert_eq!(won, 1, "{racers:?}");
    assert!(
        racers
            .iter()
            .filter(|r| r.get("errors").is_some())
            .all(|r| first_error(r).0 == "CONFLICT")
    );
    assert_eq!(
        app.ok(Some(&ann), EPOCH, json!({ "r": room })).await["room"]["epoch"],
        2
    );

    let (code, _, field) = first_error(
        &app.gql(Some(&ann), SEND, msg("APP", 2, "not base64!"))
            .await,
    );
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("ciphertext"))
    );
    assert_eq!(
        first_error(&app.gql(Some(&cat), SEND, msg("APP", 2, &secret)).await).0,
        "NOT_FOUND"
    );
    let history = app
        .ok(Some(&bob), "query($r: UUID!) { room(id: $r) { messages(last: 10) { edges { node { kind epoch ciphertext } } } } }", json!({ "r": room }))
        .await;
    assert_eq!(
        history["room"]["messages"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

async fn key_packages_are_claimed_once(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let packages: Vec<Value> = (0..5)
        .map(|i| json!({ "cipherSuite": 1, "keyData": b64(format!("key package {i}").as_bytes()) }))
        .collect();
    assert_eq!(
        app.ok(Some(&ann), PUBLISH, json!({ "i": packages[..2] }))
            .await["publishKeyPackages"],
        2
    );
    // Publishing again is idempotent per package.
    assert_eq!(
        app.ok(Some(&ann), PUBLISH, json!({ "i": packages })).await["publishKeyPackages"],
        3
    );
    assert_eq!(
        app.ok(Some(&ann), COUNT, json!({ "u": ann_id })).await["keyPackageCount"],
        5
    );

    let mut claimers = Vec::new();
    for i in 0..12 {
        claimers.push(app.register(&format!("claimer{i}")).await.0);
    }
    // The oldest first.
    let first = app
        .ok(Some(&claimers[0]), CLAIM, json!({ "u": ann_id }))
        .await;
    assert_eq!(first["claimKeyPackage"]["keyData"], packages[0]["keyData"]);
    let results = join_all(
        claimers[1..]
            .iter()
            .map(|t| app.gql(Some(t), CLAIM, json!({ "u": ann_id }))),
    )
    .await;
    let mut claimed: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r["data"]["claimKeyPackage"]["id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(
        results.iter().all(|r| r.get("errors").is_none()),
        "{results:?}"
    );
    assert_eq!(claimed.len(), 4, "{results:?}");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 4, "a package was handed out twice");
    assert_eq!(
        app.ok(Some(&ann), COUNT, json!({ "u": ann_id })).await["keyPackageCount"],
        0
    );
    assert!(app.ok(Some(&ann), CLAIM, json!({ "u": ann_id })).await["claimKeyPackage"].is_null());

    // Expired packages are neither counted nor claimed, and cleanup removes them.
    app.ok(
        Some(&ann),
        PUBLISH,
        json!({ "i": [{ "cipherSuite": 1, "keyData": b64(b"late") }] }),
    )
    .await;
    app.db
        .execute_unprepared(
            "UPDATE key_packages SET expires_at = created_at WHERE consumed_at IS NULL",
        )
        .await
        .unwrap();
    assert_eq!(
        app.ok(Some(&ann), COUNT, json!({ "u": ann_id })).await["keyPackageCount"],
        0
    );
    assert!(app.ok(Some(&ann), CLAIM, json!({ "u": ann_id })).await["claimKeyPackage"].is_null());
    let removed = confab::store::retention::expired_key_packages(&app.db)
        .await
        .unwrap();
    assert_eq!(removed, 1);

    let bad = [
        (json!([{ "cipherSuite": 1, "keyData": "%%" }]), "keyData"),
        (
            json!([{ "cipherSuite": 70000, "keyData": b64(b"x") }]),
            "cipherSuite",
        ),
        (
            json!([{ "cipherSuite": 1, "keyData": b64(b"x"), "expiresAt": "2001-01-01T00:00:00Z" }]),
            "expiresAt",
        ),
        (json!([]), "input"),
    ];
    for (input, field) in bad {
        let body = app.gql(Some(&ann), PUBLISH, json!({ "i": input })).await;
        assert_eq!(first_error(&body).2.as_deref(), Some(field), "{body}");
    }
}

async fn connection_logs_and_stats(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let room = app.create_room(&ann, "call", &[&bob_id]).await;
    let log = |event: &str, rtt: f64| json!({ "i": { "roomId": room, "event": event, "metrics": { "rttMs": rtt, "jitterMs": 2.0, "packetLoss": 0.01 } } });
    app.ok(
        Some(&ann),
        LOG,
        json!({ "i": { "roomId": room, "event": "CONNECTED" } }),
    )
    .await;
    app.ok(
        Some(&bob),
        LOG,
        json!({ "i": { "roomId": room, "event": "CONNECTED" } }),
    )
    .await;
    for rtt in 1..=20 {
        let token = if rtt % 2 == 0 { &ann } else { &bob };
        app.ok(Some(token), LOG, log("QUALITY", f64::from(rtt) * 10.0))
            .await;
    }
    app.ok(
        Some(&bob),
        LOG,
        json!({ "i": { "roomId": room, "event": "DISCONNECTED" } }),
    )
    .await;

    let stats = app.ok(Some(&bob), STATS, json!({ "r": room })).await["connectionStats"].clone();
    assert_eq!(stats["total"], 23);
    assert_eq!(stats["users"], 2);
    assert_eq!(
        stats["byEvent"],
        json!([
            { "event": "CONNECTED", "count": 2 },
            { "event": "DISCONNECTED", "count": 1 },
            { "event": "RECONNECTED", "count": 0 },
            { "event": "QUALITY", "count": 20 },
        ])
    );
    assert_eq!(stats["avgRttMs"], 105.0);
    assert_eq!(stats["p95RttMs"], 190.0);
    assert_eq!(stats["avgJitterMs"], 2.0);
    // Without a room: the caller's own events.
    assert_eq!(
        app.ok(Some(&ann), STATS, json!({})).await["connectionStats"]["total"],
        11
    );

    for (metrics, field) in [
        (json!({ "packetLoss": 2.0 }), "packetLoss"),
        (json!({ "rttMs": -5.0 }), "rttMs"),
        (json!({ "jitterMs": 1e9 }), "jitterMs"),
    ] {
        let body = app
            .gql(
                Some(&ann),
                LOG,
                json!({ "i": { "event": "QUALITY", "metrics": metrics } }),
            )
            .await;
        assert_eq!(first_error(&body).2.as_deref(), Some(field));
    }
    assert_eq!(
        first_error(&app.gql(Some(&cat), STATS, json!({ "r": room })).await).0,
        "NOT_FOUND"
    );
    assert_eq!(
        first_error(
            &app.gql(
                Some(&cat),
                LOG,
                json!({ "i": { "roomId": room, "event": "CONNECTED" } })
            )
            .await
        )
        .0,
        "NOT_FOUND"
    );
    assert_eq!(app.count("connection_logs").await, 23);

    // Retention: rows older than the window go.
    app.db
        .execute_unprepared("UPDATE connection_logs SET created_at = '2020-01-01T00:00:00+00:00' WHERE event = 'connected'")
        .await
        .unwrap();
    assert_eq!(
        confab::store::retention::old_connection_logs(&app.db, 30)
            .await
            .unwrap(),
        2
    );
    assert_eq!(app.count("connection_logs").await, 21);
}
