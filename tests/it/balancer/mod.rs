//! Three `confab serve` processes behind HAProxy (deploy/haproxy/haproxy.cfg as it is, only
//! the addresses filled in) on one PostgreSQL and one Redis. Clients connected through the
//! balancer land on different processes and each receive every message once, in order; rate
//! limits and presence are shared. Then one process is stopped with SIGTERM while messages keep
//! coming: it reports "draining", HAProxy takes it out of rotation, its sockets close with 1012,
//! the clients reconnect through the balancer with `after:` (ours by hand, a real graphql-ws
//! client on its own) and end with every message once.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{ServerProcess, TestApp, TestDatabase, redis_url};

mod follower;
pub mod harness;

use follower::Follower;
use harness::{Balancer, Client, OwnRedis, haproxy, post};

const SEND: &str =
    "mutation($r: UUID!, $b: String!) { sendMessage(input: { roomId: $r, body: $b }) { id } }";
/// Messages per user per 10 s: low enough that one user's burst through the balancer passes
/// it only if the processes count together.
const MESSAGES_PER_10S: u32 = 30;
const WAIT: Duration = Duration::from_secs(15);

/// The name HAProxy gives `process` (`confab1`.. in the order they were started).
fn process_name(processes: &[ServerProcess], process: &ServerProcess) -> String {
    let n = processes
        .iter()
        .position(|p| p.base == process.base)
        .unwrap_or(0);
    format!("confab{}", n + 1)
}

#[actix_web::test]
async fn three_processes_behind_haproxy_drain_without_losing_events() {
    // The shared Redis must be there (a CI failure otherwise), but this test runs its own.
    let Some(_) = redis_url() else { return };
    let Some(haproxy) = haproxy() else { return };
    let redis = OwnRedis::start().await;
    let Some((_database, url)) = TestDatabase::postgres_migrated().await else {
        return;
    };
    let rate = MESSAGES_PER_10S.to_string();
    let env = [
        ("CONFAB_DATABASE_URL", url.as_str()),
        ("CONFAB_REDIS_URL", redis.url.as_str()),
        ("CONFAB_SHUTDOWN_DRAIN_SECS", "5"),
        ("CONFAB_RATE_MESSAGES_PER_10S", rate.as_str()),
    ];
    let mut processes = Vec::new();
    for _ in 0..3 {
        processes.push(ServerProcess::start(&env).await);
    }
    let balancer = Balancer::start(haproxy, &processes.iter().collect::<Vec<_>>()).await;
    let lb = balancer.base.clone();
    let api = TestApp::remote(&lb);
    let (ann, _) = api.register("ann").await;
    let (bob, bob_id) = api.register("bob").await;
    let (cat, cat_id) = api.register("cat").await;
    let (dan, dan_id) = api.register("dan").await;
    let (eve, _) = api.register("eve").await;
    let (fay, fay_id) = api.register("fay").await;
    let room = api
        .create_room(
            &ann,
            "behind haproxy",
            &[&bob_id, &cat_id, &dan_id, &fay_id],
        )
        .await;

    // Round-robin, no stickiness: three sockets in a row land on three processes.
    let mut clients = Vec::new();
    for token in [&bob, &cat, &dan] {
        clients.push(Client::connect(&lb, token, &room, None).await);
    }
    let landed: BTreeSet<&str> = clients.iter().map(|c| c.backend.as_str()).collect();
    assert_eq!(landed.len(), 3, "sockets landed on {landed:?}");
    // The fourth, fay's graphql-ws client, lands where bob's did: the process stopped below.
    let mut follower = Follower::start(&lb, &fay, &room);
    if let Some(follower) = &mut follower {
        follower.until(WAIT, |f| !f.backends.is_empty()).await;
        assert_eq!(follower.backends, [clients[0].backend.clone()]);
    }
    for process in &processes {
        let here = 1 + usize::from(
            follower.is_some() && process_name(&processes, process) == clients[0].backend,
        );
        TestApp::remote(&process.base)
            .wait_for_metric(r#"confab_broker_subscribers{topic="room"}"#, here as f64)
            .await;
    }

    // Presence is shared: every process sees all three online, though each holds one socket.
    let status = "query($b: UUID!, $c: UUID!, $d: UUID!) {
        b: user(id: $b) { status } c: user(id: $c) { status } d: user(id: $d) { status } }";
    let ids = json!({ "b": bob_id, "c": cat_id, "d": dan_id });
    let mut answered = BTreeSet::new();
    for _ in 0..3 {
        let (by, body) = post(&lb, Some(&ann), status, ids.clone()).await;
        for user in ["b", "c", "d"] {
            assert_eq!(body["data"][user]["status"], "ONLINE", "{by}: {body}");
        }
        answered.insert(by);
    }
    assert_eq!(answered.len(), 3, "answered by {answered:?}");

    // Messages sent through the balancer (so through every process) reach every client once,
    // in order.
    let senders = [ann.clone(), bob.clone(), cat.clone(), dan.clone()];
    let mut sent = Vec::new();
    let mut through = BTreeSet::new();
    for n in 0..9 {
        let body = format!("m{n}");
        let (by, answer) = post(
            &lb,
            Some(&senders[n % 4]),
            SEND,
            json!({ "r": room, "b": body }),
        )
        .await;
        assert!(answer["errors"].is_null(), "{answer}");
        through.insert(by);
        sent.push(body);
    }
    assert_eq!(through.len(), 3, "sent through {through:?}");
    for client in &mut clients {
        client.read_all(sent.len()).await;
        assert_eq!(client.bodies(), sent, "{}", client.backend);
    }
    if let Some(follower) = &mut follower {
        follower.until(WAIT, |f| f.seen.len() >= sent.len()).await;
        assert_eq!(follower.bodies(), sent);
    }

    // The rate limit is counted across processes: eve's sends spread over all three, and the
    // one past the limit is refused, though no process alone saw that many.
    let alone = api.create_room(&eve, "eve alone", &[]).await;
    for n in 0..MESSAGES_PER_10S {
        let (_, answer) = post(
            &lb,
            Some(&eve),
            SEND,
            json!({ "r": alone, "b": format!("e{n}") }),
        )
        .await;
        assert!(answer["errors"].is_null(), "send {n}: {answer}");
    }
    let (_, refused) = post(
        &lb,
        Some(&eve),
        SEND,
        json!({ "r": alone, "b": "one too many" }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );

    // Messages keep coming through the balancer while one process drains.
    let sent = Rc::new(RefCell::new(sent));
    let failures = Rc::new(RefCell::new(Vec::new()));
    let stop = Rc::new(Cell::new(false));
    let sender = actix_web::rt::spawn({
        let (lb, room, sent, failures, stop) = (
            lb.clone(),
            room.clone(),
            sent.clone(),
            failures.clone(),
            stop.clone(),
        );
        async move {
            let mut n = 0;
            while !stop.get() {
                let body = format!("d{n}");
                let (by, answer) = post(
                    &lb,
                    Some(&senders[n % 4]),
                    SEND,
                    json!({ "r": room, "b": body }),
                )
                .await;
                if answer["errors"].is_null() {
                    sent.borrow_mut().push(body);
                } else {
                    failures.borrow_mut().push(format!("{by}: {answer}"));
                }
                n += 1;
                actix_web::rt::time::sleep(Duration::from_millis(150)).await;
            }
        }
    });

    // SIGTERM the process holding bob's socket.
    let victim_name = clients[0].backend.clone();
    let victim = victim_name
        .strip_prefix("confab")
        .and_then(|n| n.parse::<usize>().ok())
        .map(|n| n - 1)
        .expect("servers are named confab1..3");
    let victim_base = processes[victim].base.clone();
    let signalled = Command::new("kill")
        .args(["-TERM", &processes[victim].child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());

    // At once its readiness fails, while it still serves.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (code, body) = TestApp::remote(&victim_base).get("/readyz").await;
        if code == 503 {
            assert!(body.contains(r#""status":"draining""#), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still {code} after SIGTERM: {body}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, still) = post(&victim_base, None, "{ __typename }", json!({})).await;
    assert_eq!(still["data"]["__typename"], "Query", "{still}");

    // Bob keeps receiving until his socket closes with "service restart".
    let code = loop {
        if let Err(code) = clients[0].read(Duration::from_secs(15)).await {
            break code;
        }
    };
    assert_eq!(code, Some(1012), "reason {:?}", clients[0].ws.close_reason);
    // He reconnects through the balancer, which no longer sends anyone to the draining process,
    // and asks for what he missed.
    let last = clients[0].seen.last().map(|(id, _)| id.clone());
    let mut again = Client::connect(&lb, &clients[0].token, &room, last.as_deref()).await;
    assert_ne!(
        again.backend, victim_name,
        "reconnected to the draining process"
    );
    again.seen = std::mem::take(&mut clients[0].seen);
    clients[0] = again;

    // The process exits on its own, cleanly.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(exit) = processes[victim].child.try_wait().unwrap() {
            assert!(exit.success(), "exit status {exit}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the drained process did not exit"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more messages after it is gone, then every client has every message once, in order.
    let exited_at = sent.borrow().len();
    while sent.borrow().len() < exited_at + 5 {
        assert!(
            !sender.is_finished(),
            "the sender stopped: {:?}",
            failures.borrow()
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    stop.set(true);
    sender.await.unwrap();
    assert!(
        failures.borrow().is_empty(),
        "sends failed: {:?}",
        failures.borrow()
    );
    let sent = sent.borrow().clone();
    for client in &mut clients {
        client.read_all(sent.len()).await;
        assert_eq!(client.bodies(), sent, "{}", client.backend);
        let ids: BTreeSet<&str> = client.seen.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids.len(), sent.len(), "a message arrived twice");
    }
    // The graphql-ws client was closed with 1012, reconnected by itself through the balancer to
    // another process, and caught up.
    if let Some(follower) = &mut follower {
        follower.until(WAIT, |f| f.seen.len() >= sent.len()).await;
        assert_eq!(follower.closes, [1012]);
        assert_eq!(follower.backends.len(), 2, "{:?}", follower.backends);
        assert_ne!(follower.backends[1], victim_name);
        assert_eq!(follower.bodies(), sent);
        follower.settle().await;
        assert_eq!(
            follower.seen.len(),
            sent.len(),
            "more messages than were sent"
        );
    }
    drop(balancer);
}

/// With `--trusted-proxies` naming the balancer, sessions (and rate limits, the sign-in guard
/// and audit rows, which take the same address) see the client's address from the balancer's
/// `X-Forwarded-For`, and an address the client put there itself is not believed; without the
/// setting they see the balancer's. The client comes over IPv6 loopback, the balancer over IPv4.
#[actix_web::test]
async fn trusted_proxies_give_the_client_address() {
    let Some(haproxy) = haproxy() else { return };
    let (_trusting_db, trusting_url) = TestDatabase::sqlite_migrated().await;
    let trusting = ServerProcess::start(&[
        ("CONFAB_DATABASE_URL", trusting_url.as_str()),
        ("CONFAB_TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    let (_plain_db, plain_url) = TestDatabase::sqlite_migrated().await;
    let plain = ServerProcess::start(&[("CONFAB_DATABASE_URL", plain_url.as_str())]).await;
    for (process, seen) in [(&trusting, "::1"), (&plain, "127.0.0.1")] {
        let balancer = Balancer::start_on(haproxy, "[::1]", &[process, process, process]).await;
        let mut response = awc::Client::default()
            .post(format!("{}/graphql", balancer.base))
            .insert_header(("X-Forwarded-For", "203.0.113.7"))
            .send_json(&json!({
                "query": "mutation($input: RegisterInput!) { register(input: $input) { token } }",
                "variables": { "input": { "username": "ann", "email": "ann@x.io", "password": "password1" } },
            }))
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        let token = body["data"]["register"]["token"]
            .as_str()
            .expect("a token")
            .to_owned();
        let (_, sessions) = post(
            &balancer.base,
            Some(&token),
            "{ sessions { ip } }",
            json!({}),
        )
        .await;
        assert_eq!(sessions["data"]["sessions"][0]["ip"], seen, "{sessions}");
    }
}
