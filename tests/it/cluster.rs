//! Two server processes on one PostgreSQL and one Redis: a client on one instance sees what
//! was written through the other, presence is shared, fan-out survives Redis dropping
//! its connections, and a client loses nothing that was sent while Redis was away.

use std::time::Duration;

use serde_json::json;

use crate::balancer::harness::{Client, OwnRedis};
use crate::util::{ServerProcess, TestApp, TestDatabase, redis_url};
use crate::wsclient::{Got, TRANSPORT, Ws};

const ROOM_EVENTS: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename ... on MessageAdded { message { body sender { username } } } } }";

/// A client for one instance that is not the in-process test server.
async fn remote(base: &str) -> TestApp {
    TestApp::remote(base)
}

/// Two instances on one database and one Redis, and a client for each.
async fn two_instances(
    database_url: &str,
    redis_url: &str,
) -> (ServerProcess, ServerProcess, TestApp, TestApp) {
    let env = [
        ("CONFAB_DATABASE_URL", database_url),
        ("CONFAB_REDIS_URL", redis_url),
    ];
    let a = ServerProcess::start(&env).await;
    let b = ServerProcess::start(&env).await;
    let (on_a, on_b) = (remote(&a.base).await, remote(&b.base).await);
    (a, b, on_a, on_b)
}

#[actix_web::test]
async fn two_instances_share_events_and_presence_through_redis() {
    // The shared Redis must be there (a CI failure otherwise), but this test drops every
    // subscription on its own, so that no other test's sockets are closed by it.
    let Some(_) = redis_url() else { return };
    let Some((_database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    let own = OwnRedis::start().await;
    let redis = own.url.clone();
    let (a, b, on_a, on_b) = two_instances(&url, &redis).await;

    let (ann, _) = on_b.register("ann").await;
    let (bob, bob_id) = on_a.register("bob").await;
    let room = on_b.create_room(&ann, "across", &[&bob_id]).await;

    let mut ws = Ws::connect_to(&a.base, TRANSPORT, Some(&bob)).await;
    assert!(matches!(ws.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    ws.subscribe("1", ROOM_EVENTS, json!({ "room": room }))
        .await;
    on_a.wait_for_metric(r#"confab_broker_subscribers{topic="room"}"#, 1.0)
        .await;

    // Readiness reports the Redis link once it is up.
    let mut ready = String::new();
    for _ in 0..50 {
        ready = on_a.get("/readyz").await.1;
        if ready.contains("\"redis\":\"ok\"") {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready.contains("\"redis\":\"ok\""), "{ready}");

    // Written through B, delivered by A.
    on_b.send(&ann, &room, "from b").await;
    let got = ws.next("1").await;
    assert_eq!(
        got["data"]["roomEvents"]["message"]["body"], "from b",
        "{got}"
    );
    assert_eq!(
        got["data"]["roomEvents"]["message"]["sender"]["username"],
        "ann"
    );
    // Bob listens for his own events on A; B, which wrote ann's message, finds him in the
    // shared register of listeners and computes his unread count for him.
    let mut mine = Ws::connect_to(&a.base, TRANSPORT, Some(&bob)).await;
    assert!(matches!(mine.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    mine.subscribe(
        "me",
        "subscription { myEvents { __typename ... on UnreadChanged { roomId unreadCount } } }",
        json!({}),
    )
    .await;
    // Counted once A has written bob's place in the shared register that B reads.
    on_a.wait_for_metric("confab_event_listeners", 1.0).await;
    on_b.send(&ann, &room, "counted on b").await;
    assert_eq!(
        ws.next("1").await["data"]["roomEvents"]["message"]["body"],
        "counted on b"
    );
    let mut got = mine.next("me").await;
    // B counts unread messages in the background after each write. On a loaded machine its
    // count for "from b" can still be running when bob's listener registers, and then bob
    // first hears of that one (1 unread): the count for "counted on b" follows it.
    if got["data"]["myEvents"]["unreadCount"] == 1 {
        got = mine.next("me").await;
    }
    assert_eq!(
        got["data"]["myEvents"]["__typename"], "UnreadChanged",
        "{got}"
    );
    assert_eq!(got["data"]["myEvents"]["unreadCount"], 2, "{got}");
    drop(mine);

    // A measured how long the event took from B's publish to A's subscribers.
    let metrics = on_a.get("/metrics").await.1;
    let count = metrics
        .lines()
        .find_map(|line| line.strip_prefix("confab_broker_delivery_lag_seconds_count "))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(count >= 1.0, "no delivery lag recorded: {metrics}");

    // Bob's socket is on A; B sees him online.
    let status = "query($id: UUID!) { user(id: $id) { status } }";
    let seen = on_b.ok(Some(&ann), status, json!({ "id": bob_id })).await;
    assert_eq!(seen["user"]["status"], "ONLINE");
    // Ann watches bob's presence on B; bob chooses AWAY through A, and B tells her.
    let mut watcher = Ws::connect_to(&b.base, TRANSPORT, Some(&ann)).await;
    assert!(matches!(watcher.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    watcher
        .subscribe(
            "p",
            "subscription($ids: [UUID!]!) { presence(userIds: $ids) { userId status } }",
            json!({ "ids": [bob_id] }),
        )
        .await;
    on_b.wait_for_metric(r#"confab_broker_subscribers{topic="presence"}"#, 1.0)
        .await;
    on_a.ok(
        Some(&bob),
        "mutation { updateProfile(input: { status: AWAY }) { id } }",
        json!({}),
    )
    .await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "AWAY", "{got}");
    drop(watcher);

    // Redis drops every subscription; both instances subscribe again, and A closes bob's
    // socket with 1012 (whatever was published meanwhile is his to catch up on); on a new
    // socket, events cross again.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: redis::Value = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    match ws.recv_within(Duration::from_secs(20)).await {
        Got::Closed(code) => assert_eq!(code, Some(1012)),
        other => panic!("expected a 1012 close, got {other:?}"),
    }
    let mut ws = Ws::connect_to(&a.base, TRANSPORT, Some(&bob)).await;
    assert!(matches!(ws.recv().await, Got::Message(m) if m["type"] == "connection_ack"));
    ws.subscribe("1", ROOM_EVENTS, json!({ "room": room }))
        .await;
    let mut delivered = false;
    for attempt in 0..50 {
        on_b.send(&ann, &room, &format!("after reconnect {attempt}"))
            .await;
        if let Got::Message(m) = ws.recv_within(Duration::from_millis(300)).await {
            assert_eq!(m["type"], "next", "{m}");
            delivered = true;
            break;
        }
    }
    assert!(
        delivered,
        "no event crossed instances after Redis dropped the subscriptions"
    );

    drop(ws);
    // A's presence sees the socket close, then B reads it through Redis.
    eventually(|| async {
        on_b.ok(Some(&ann), status, json!({ "id": bob_id })).await["user"]["status"] == "OFFLINE"
    })
    .await;
    let seen = on_b.ok(Some(&ann), status, json!({ "id": bob_id })).await;
    assert_eq!(seen["user"]["status"], "OFFLINE");

    // Each instance caches signed-in viewers; a change made through one reaches the other's
    // cache. Ann's token is warm on B (she has used it there all along).
    let me = "{ me { displayName } }";
    on_a.ok(
        Some(&ann),
        "mutation { updateProfile(input: { displayName: \"Ann Again\" }) { id } }",
        json!({}),
    )
    .await;
    assert!(
        eventually(|| async {
            on_b.ok(Some(&ann), me, json!({})).await["me"]["displayName"] == "Ann Again"
        })
        .await,
        "B kept serving the old profile"
    );
    on_a.ok(Some(&ann), "mutation { logout }", json!({})).await;
    assert!(
        eventually(|| async { on_b.ok(Some(&ann), me, json!({})).await["me"].is_null() }).await,
        "B kept accepting a token signed out on A"
    );
}

/// While Redis is down, a message written through A cannot reach B's subscribers. When B's
/// link is back, B closes its sockets with 1012 ("events interrupted"), and the client that
/// reconnects with `after:` gets the message it was owed, then live events across processes
/// again.
#[actix_web::test]
async fn what_a_redis_outage_kept_from_a_client_reaches_it_on_reconnect() {
    // The shared Redis must be there (a CI failure otherwise), but this test stops its own.
    let Some(_) = redis_url() else { return };
    let Some((_database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    let mut redis = OwnRedis::start().await;
    let (a, b, on_a, on_b) = two_instances(&url, &redis.url).await;
    let (ann, _) = on_a.register("ann").await;
    let (bob, bob_id) = on_b.register("bob").await;
    let room = on_a.create_room(&ann, "outage", &[&bob_id]).await;
    let (cat, _) = on_a.register("cat").await;
    let me = "{ me { username } }";
    // Cat's session is in B's cache of signed-in viewers from here on.
    assert_eq!(
        on_b.ok(Some(&cat), me, json!({})).await["me"]["username"],
        "cat"
    );
    assert!(redis_is(&on_b, "ok").await, "B's Redis link never came up");

    let mut bob_ws = Client::direct(&b.base, &bob, &room, None).await;
    let mut ann_ws = Client::direct(&a.base, &ann, &room, None).await;
    on_b.wait_for_metric(r#"confab_broker_subscribers{topic="room"}"#, 1.0)
        .await;
    on_a.wait_for_metric(r#"confab_broker_subscribers{topic="room"}"#, 1.0)
        .await;
    on_a.send(&ann, &room, "before").await;
    bob_ws.read_all(1).await;
    ann_ws.read_all(1).await;

    redis.stop();
    assert!(
        redis_is(&on_b, "down").await,
        "B did not notice Redis going"
    );
    // A's own subscribers hear what is sent through A at once, Redis or not.
    let started = std::time::Instant::now();
    for body in ["during 1", "during 2"] {
        on_a.send(&ann, &room, body).await;
        assert_eq!(ann_ws.read(Duration::from_secs(20)).await, Ok(()));
    }
    // (Not the many seconds of a reconnecting Redis client: a stopped Redis refuses at once,
    // and one that does not answer is given up on after 3 s.)
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "A delivered its own events after {:?}",
        started.elapsed()
    );
    assert_eq!(ann_ws.bodies(), ["before", "during 1", "during 2"]);
    // B never hears of this logout; its cache is dropped when the link is back.
    on_a.ok(Some(&cat), "mutation { logout }", json!({})).await;
    redis.restart().await;
    // B's link comes back within its backoff (at most 5 s) and the socket closes within the
    // spread after that; what was sent during the outage never arrives on it.
    let closed = bob_ws.read(Duration::from_secs(20)).await;
    assert_eq!(closed, Err(Some(1012)), "seen {:?}", bob_ws.bodies());
    assert_eq!(bob_ws.bodies(), ["before"]);
    assert_eq!(
        on_b.metric(r#"confab_broker_resumptions_total{cause="link"}"#)
            .await,
        Some(1.0)
    );
    assert!(
        on_b.ok(Some(&cat), me, json!({})).await["me"].is_null(),
        "B still accepts a session ended during the outage"
    );

    // A's publishes failed during the outage, so A owes the others a notice, sent once Redis
    // takes it; B closes its sockets on it too.
    assert!(
        eventually_within(Duration::from_secs(10), || async {
            on_b.metric(r#"confab_broker_resumptions_total{cause="peer"}"#)
                .await
                .is_some_and(|n| n >= 1.0)
        })
        .await,
        "A's resync notice did not reach B"
    );

    // Bob reconnects with `after:` on every 1012, as a client should, and misses nothing.
    let mut seen = bob_ws.seen.clone();
    follow(&b.base, &bob, &room, &mut seen, 3).await;
    on_a.send(&ann, &room, "after").await;
    follow(&b.base, &bob, &room, &mut seen, 4).await;
    let bodies: Vec<&str> = seen.iter().map(|(_, body)| body.as_str()).collect();
    assert_eq!(bodies, ["before", "during 1", "during 2", "after"]);
}

/// Follows `room` on the process at `base` as a client should: subscribed after the last
/// message in `seen`, reconnecting on every 1012 close, until `seen` holds `n` messages.
async fn follow(base: &str, token: &str, room: &str, seen: &mut Vec<(String, String)>, n: usize) {
    while seen.len() < n {
        let last = seen.last().map(|(id, _)| id.clone());
        let mut client = Client::direct(base, token, room, last.as_deref()).await;
        while seen.len() < n {
            match client.read(Duration::from_secs(20)).await {
                Ok(()) => seen.push(client.seen.last().cloned().expect("read")),
                Err(Some(1012)) => break,
                Err(code) => panic!("closed with {code:?} after {seen:?}"),
            }
        }
    }
}

/// Whether `/readyz` reports the Redis link as `state` ("ok" or "down") within ten seconds.
async fn redis_is(api: &TestApp, state: &str) -> bool {
    let want = format!("\"redis\":\"{state}\"");
    for _ in 0..100 {
        if api.get("/readyz").await.1.contains(&want) {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Whether `check` comes true within two seconds (an event crossing Redis takes a moment).
async fn eventually<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) -> bool {
    eventually_within(Duration::from_secs(2), check).await
}

async fn eventually_within<F: std::future::Future<Output = bool>>(
    within: Duration,
    check: impl Fn() -> F,
) -> bool {
    for _ in 0..within.as_millis() / 50 {
        if check().await {
            return true;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
