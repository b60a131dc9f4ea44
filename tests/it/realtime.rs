//! Subscriptions over a real WebSocket: both protocols, auth, room events, my events,
//! presence and typing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::TestApp;
use crate::wsclient::{Got, LEGACY, TRANSPORT, Ws};

const ROOM_EVENTS: &str = "subscription($room: UUID!) { roomEvents(roomId: $room) { __typename
    ... on MessageAdded { message { id body sender { username } } }
    ... on MessageEdited { message { body editedAt } }
    ... on MessageDeleted { message { body deletedAt } }
    ... on ReactionChanged { emoji added user { username } message { reactions { emoji count } } }
    ... on ReceiptUpdated { user { username } messageId }
    ... on MemberJoined { member { role user { username } } }
    ... on MemberLeft { user { username } }
    ... on Typing { typing user { username } expiresAt }
} }";
const MY_EVENTS: &str = "subscription { myEvents { __typename
    ... on NotificationAdded { notification { kind title body data } }
    ... on RoomAdded { room { id name } }
    ... on UnreadChanged { roomId unreadCount lastMessage { id body sender { username } } }
} }";

on_both_backends!(
    room_events_over_graphql_transport_ws,
    room_events_over_legacy_graphql_ws,
    sockets_need_a_valid_token,
    members_only_and_removal_ends_the_stream,
    revoking_the_session_closes_its_sockets,
    my_events_notifications_and_unread,
    presence_follows_sockets,
    unread_counts_settle_on_the_truth,
    unread_counts_follow_my_events_subscriptions,
);

fn typename(payload: &Value) -> &str {
    payload["data"]["roomEvents"]["__typename"]
        .as_str()
        .unwrap_or("<none>")
}

async fn room_events(app: &TestApp, protocol: &'static str) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("live", &[&bob]).await;
    let mut ws = Ws::ready(app, protocol, &bob.token).await;
    ws.subscribe("1", ROOM_EVENTS, json!({ "room": room }))
        .await;
    // The subscription is registered some time after the socket sent it; wait for it before
    // writing.
    app.wait_for_room_subscribers(&room, 1).await;

    let id = ann.send(&room, "hello live").await;
    let got = ws.next("1").await;
    assert_eq!(typename(&got), "MessageAdded", "{got}");
    let message = &got["data"]["roomEvents"]["message"];
    assert_eq!(message["id"], id);
    assert_eq!(message["body"], "hello live");
    assert_eq!(message["sender"]["username"], "ann");

    ann.ok(
        "mutation($id: UUID!) { editMessage(id: $id, body: \"edited\") { id } }",
        json!({ "id": id }),
    )
    .await;
    let got = ws.next("1").await;
    assert_eq!(typename(&got), "MessageEdited");
    assert_eq!(got["data"]["roomEvents"]["message"]["body"], "edited");

    ann.ok(
        "mutation($id: UUID!) { react(messageId: $id, emoji: \"🔥\") { id } }",
        json!({ "id": id }),
    )
    .await;
    let got = ws.next("1").await;
    assert_eq!(typename(&got), "ReactionChanged");
    assert_eq!(got["data"]["roomEvents"]["added"], true);
    assert_eq!(
        got["data"]["roomEvents"]["message"]["reactions"],
        json!([{ "emoji": "🔥", "count": 1 }])
    );

    ann.ok(
        "mutation($r: UUID!) { setTyping(roomId: $r, typing: true) }",
        json!({ "r": room }),
    )
    .await;
    let got = ws.next("1").await;
    assert_eq!(typename(&got), "Typing");
    assert_eq!(got["data"]["roomEvents"]["user"]["username"], "ann");
    assert!(got["data"]["roomEvents"]["expiresAt"].is_string());

    bob.ok(
        "mutation($r: UUID!, $m: UUID!) { markRead(roomId: $r, messageId: $m) { role } }",
        json!({ "r": room, "m": id }),
    )
    .await;
    let got = ws.next("1").await;
    assert_eq!(typename(&got), "ReceiptUpdated");
    assert_eq!(got["data"]["roomEvents"]["messageId"], id);

    ann.ok(
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    let got = ws.next("1").await;
    assert_eq!(typename(&got), "MessageDeleted");
    assert!(got["data"]["roomEvents"]["message"]["body"].is_null());
}

async fn room_events_over_graphql_transport_ws(app: &TestApp) {
    room_events(app, TRANSPORT).await;
}

async fn room_events_over_legacy_graphql_ws(app: &TestApp) {
    room_events(app, LEGACY).await;
}

async fn sockets_need_a_valid_token(app: &TestApp) {
    for protocol in [TRANSPORT, LEGACY] {
        let mut ws = Ws::connect(app, protocol, Some("cfb_not_a_token")).await;
        assert_eq!(ws.closed().await, Some(4401), "{protocol}: bad token");
        let mut ws = Ws::connect(app, protocol, None).await;
        assert_eq!(ws.closed().await, Some(4401), "{protocol}: no token");
    }
}

async fn members_only_and_removal_ends_the_stream(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let room = app.create_room(&ann, "private", &[&bob_id]).await;

    // A stranger gets an error, not events.
    let mut ws = Ws::ready(app, TRANSPORT, &cat).await;
    ws.subscribe("s", ROOM_EVENTS, json!({ "room": room }))
        .await;
    match ws.recv().await {
        Got::Message(m) => {
            assert_eq!(m["type"], "next", "{m}");
            assert_eq!(
                m["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
                "{m}"
            );
        }
        other => panic!("expected an error result, got {other:?}"),
    }

    let mut bob_ws = Ws::ready(app, TRANSPORT, &bob).await;
    bob_ws
        .subscribe("r", ROOM_EVENTS, json!({ "room": room }))
        .await;
    app.wait_for_room_subscribers(&room, 1).await;
    app.ok(
        Some(&ann),
        "mutation($r: UUID!, $u: UUID!) { removeMember(roomId: $r, userId: $u) }",
        json!({ "r": room, "u": bob_id }),
    )
    .await;
    let got = bob_ws.next("r").await;
    assert_eq!(typename(&got), "MemberLeft");
    match bob_ws.recv().await {
        Got::Message(m) => assert_eq!(m["type"], "complete", "{m}"),
        other => panic!("expected complete, got {other:?}"),
    }
    app.send(&ann, &room, "after bob left").await;
    assert!(matches!(
        bob_ws.recv_within(Duration::from_millis(500)).await,
        Got::Nothing
    ));
}

async fn revoking_the_session_closes_its_sockets(app: &TestApp) {
    let (bob, _) = app.register("bob").await;
    let mut ws = Ws::ready(app, TRANSPORT, &bob).await;
    app.ok(Some(&bob), "mutation { logout }", json!({})).await;
    assert_eq!(ws.closed().await, Some(4401));
}

async fn my_events_notifications_and_unread(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let mut ws = Ws::ready(app, TRANSPORT, &bob).await;
    ws.subscribe("me", MY_EVENTS, json!({})).await;
    app.wait_for_listeners(&bob_id, 1).await;

    let room = app.create_room(&ann, "Plans", &[&bob_id]).await;
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let got = ws.next("me").await;
        kinds.push(
            got["data"]["myEvents"]["__typename"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        if kinds.last().unwrap() == "RoomAdded" {
            assert_eq!(got["data"]["myEvents"]["room"]["name"], "Plans");
        } else {
            assert_eq!(
                got["data"]["myEvents"]["notification"]["kind"],
                "room_added"
            );
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["NotificationAdded", "RoomAdded"]);

    let lunch = app.send(&ann, &room, "lunch @Bob?").await;
    let mut seen = (false, false);
    for _ in 0..2 {
        let got = ws.next("me").await;
        let event = &got["data"]["myEvents"];
        match event["__typename"].as_str().unwrap() {
            "NotificationAdded" => {
                assert_eq!(event["notification"]["kind"], "mention");
                assert_eq!(event["notification"]["body"], "lunch @Bob?");
                assert_eq!(event["notification"]["data"]["roomId"], room);
                seen.0 = true;
            }
            "UnreadChanged" => {
                assert_eq!(event["roomId"], room);
                assert_eq!(event["unreadCount"], 1);
                // The message that moved the count, for the room list's preview.
                assert_eq!(event["lastMessage"]["id"], lunch.as_str());
                assert_eq!(event["lastMessage"]["body"], "lunch @Bob?");
                assert_eq!(event["lastMessage"]["sender"]["username"], "ann");
                seen.1 = true;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(seen, (true, true));

    // Reading moves the count but not the preview: no message comes with it.
    app.ok(
        Some(&bob),
        "mutation($r: UUID!, $m: UUID!) { markRead(roomId: $r, messageId: $m) { role } }",
        json!({ "r": room, "m": lunch }),
    )
    .await;
    let got = ws.next("me").await;
    let event = &got["data"]["myEvents"];
    assert_eq!(event["__typename"], "UnreadChanged", "{got}");
    assert_eq!(event["unreadCount"], 0);
    assert_eq!(event["lastMessage"], Value::Null);

    let list = app
        .ok(
            Some(&bob),
            "{ notifications(unreadOnly: true) { edges { node { id kind } } } }",
            json!({}),
        )
        .await;
    let edges = list["notifications"]["edges"].as_array().unwrap();
    assert_eq!(
        edges
            .iter()
            .map(|e| e["node"]["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["mention", "room_added"]
    );
    let first = edges[0]["node"]["id"].clone();
    let marked = app
        .ok(
            Some(&bob),
            "mutation($ids: [UUID!]) { markNotificationsRead(ids: $ids) }",
            json!({ "ids": [first] }),
        )
        .await;
    assert_eq!(marked["markNotificationsRead"], 1);
    let marked = app
        .ok(Some(&bob), "mutation { markNotificationsRead }", json!({}))
        .await;
    assert_eq!(marked["markNotificationsRead"], 1);
    let list = app
        .ok(
            Some(&bob),
            "{ notifications(unreadOnly: true) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["notifications"]["edges"], json!([]));
}

async fn presence_follows_sockets(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let mut watcher = Ws::ready(app, TRANSPORT, &ann).await;
    watcher
        .subscribe(
            "p",
            "subscription($ids: [UUID!]!) { presence(userIds: $ids) { userId status lastSeenAt } }",
            json!({ "ids": [bob_id] }),
        )
        .await;
    app.wait_for_presence_watchers(&bob_id, 1).await;
    let status = "query($id: UUID!) { user(id: $id) { status lastSeenAt } }";
    assert_eq!(
        app.ok(Some(&ann), status, json!({ "id": bob_id })).await["user"]["status"],
        "OFFLINE"
    );

    let bob_ws = Ws::ready(app, TRANSPORT, &bob).await;
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "ONLINE", "{got}");
    assert_eq!(
        app.ok(Some(&ann), status, json!({ "id": bob_id })).await["user"]["status"],
        "ONLINE"
    );

    // Choosing a status while connected shows at once: away, invisible, back.
    let choose = "mutation($s: UserStatus!) { updateProfile(input: { status: $s }) { id } }";
    for chosen in ["AWAY", "OFFLINE", "ONLINE"] {
        app.ok(Some(&bob), choose, json!({ "s": chosen })).await;
        let got = watcher.next("p").await;
        assert_eq!(got["data"]["presence"]["status"], chosen, "{got}");
    }
    // Choosing the same status again announces nothing: the next event is the socket's.

    // A second socket does not change presence; closing both does.
    let second = Ws::ready(app, TRANSPORT, &bob).await;
    drop(second);
    drop(bob_ws);
    let got = watcher.next("p").await;
    assert_eq!(got["data"]["presence"]["status"], "OFFLINE", "{got}");
    let user = app.ok(Some(&ann), status, json!({ "id": bob_id })).await;
    assert_eq!(user["user"]["status"], "OFFLINE");
    assert!(user["user"]["lastSeenAt"].is_string());
}

#[actix_web::test]
async fn sockets_without_init_are_closed() {
    let app = TestApp::sqlite().await;
    let url = format!("{}/graphql", app.base.replacen("http", "ws", 1));
    let (_, framed) = awc::Client::new()
        .ws(url)
        .protocols([TRANSPORT])
        .connect()
        .await
        .unwrap();
    let mut ws = crate::wsclient::Ws::from_framed(framed, TRANSPORT);
    assert_eq!(ws.closed().await, Some(4408));
    app.stop().await;
}

/// Unread counts are recounted once per room per pass, however many sends raced: the last count
/// each listener hears is their real one. A sender is not told about their own sends (which
/// read the room up to them), so theirs may stay behind only when it is 0.
async fn unread_counts_settle_on_the_truth(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, cat_id) = app.register("cat").await;
    let room = app.create_room(&ann, "busy", &[&bob_id, &cat_id]).await;
    let mut sockets = Vec::new();
    for token in [&ann, &bob, &cat] {
        let mut ws = Ws::ready(app, TRANSPORT, token).await;
        ws.subscribe("me", MY_EVENTS, json!({})).await;
        sockets.push(ws);
    }
    for user in [&ann_id, &bob_id, &cat_id] {
        app.wait_for_listeners(user, 1).await;
    }

    let sends = (0..15).flat_map(|i| {
        [
            (ann.clone(), format!("ann {i}")),
            (bob.clone(), format!("bob {i}")),
        ]
    });
    let sends: Vec<_> = sends.collect();
    futures_util::future::join_all(
        sends
            .iter()
            .map(|(token, body)| app.send(token, &room, body)),
    )
    .await;
    // Every count is published now; what is left is the sockets passing them on.
    app.settle().await;

    for (token, ws) in [&ann, &bob, &cat].into_iter().zip(&mut sockets) {
        let truth = app
            .ok(
                Some(token),
                "query($room: UUID!) { room(id: $room) { unreadCount } }",
                json!({ "room": room }),
            )
            .await["room"]["unreadCount"]
            .clone();
        let mut last = None;
        while let Got::Message(got) = ws.recv_within(Duration::from_millis(500)).await {
            let event = &got["payload"]["data"]["myEvents"];
            if event["__typename"] == "UnreadChanged" {
                assert_eq!(event["roomId"], room);
                last = Some(event["unreadCount"].clone());
            }
        }
        if truth != 0 || token == &cat {
            assert_eq!(last, Some(truth));
        }
    }
    let cat_count = app
        .ok(
            Some(&cat),
            "query($room: UUID!) { room(id: $room) { unreadCount } }",
            json!({ "room": room }),
        )
        .await;
    assert_eq!(cat_count["room"]["unreadCount"], 30);
}

/// Unread counts are computed for users with a `myEvents` subscription open: the register
/// follows each subscription, so ending one of two keeps the counts coming on the other, and
/// subscribing again after ending all of them brings them back.
async fn unread_counts_follow_my_events_subscriptions(app: &TestApp) {
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let room = ann.create_room("counted", &[&bob]).await;
    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    ws.subscribe("a", MY_EVENTS, json!({})).await;
    ws.subscribe("b", MY_EVENTS, json!({})).await;
    app.wait_for_listeners(&bob.id, 2).await;

    // The next count bob hears, on any subscription, within `limit`: (its id, the count).
    async fn next_count_within(ws: &mut Ws, limit: Duration) -> Option<(String, Value)> {
        loop {
            match ws.recv_within(limit).await {
                Got::Message(m)
                    if m["payload"]["data"]["myEvents"]["__typename"] == "UnreadChanged" =>
                {
                    let id = m["id"].as_str().unwrap_or_default().to_owned();
                    return Some((id, m["payload"]["data"]["myEvents"]["unreadCount"].clone()));
                }
                Got::Message(_) => continue,
                _ => return None,
            }
        }
    }
    async fn next_count(ws: &mut Ws) -> Option<(String, Value)> {
        next_count_within(ws, Duration::from_secs(5)).await
    }

    ann.send(&room, "one").await;
    let mut heard: Vec<_> = [next_count(&mut ws).await, next_count(&mut ws).await]
        .into_iter()
        .flatten()
        .collect();
    heard.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        heard,
        [("a".to_owned(), json!(1)), ("b".to_owned(), json!(1))]
    );

    ws.send(json!({ "id": "a", "type": "complete" })).await;
    app.wait_for_listeners(&bob.id, 1).await;
    ann.send(&room, "two").await;
    assert_eq!(next_count(&mut ws).await, Some(("b".to_owned(), json!(2))));
    // A count for `a` would have been published in the same pass as b's, already heard.
    app.settle().await;
    assert_eq!(
        next_count_within(&mut ws, Duration::from_millis(300)).await,
        None,
        "a ended"
    );

    ws.send(json!({ "id": "b", "type": "complete" })).await;
    app.wait_for_listeners(&bob.id, 0).await;
    ws.subscribe("c", MY_EVENTS, json!({})).await;
    app.wait_for_listeners(&bob.id, 1).await;
    ann.send(&room, "three").await;
    assert_eq!(next_count(&mut ws).await, Some(("c".to_owned(), json!(3))));
}
