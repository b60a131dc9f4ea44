//! DataLoaders: a nested query costs the same number of SQL statements for 5 rooms as for 50.

use serde_json::json;

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(nested_rooms_cost_a_fixed_number_of_statements);

const NESTED: &str = "query($n: Int!) { myRooms(first: $n) { edges { node {
    id name memberCount unreadCount myRole createdBy { username }
    members { role user { username } }
    lastMessage { body sender { username } }
    messages(last: 3) { edges { node {
        body sender { displayName } replyTo { body sender { username } }
        reactions { emoji count users { username } } readBy { username }
    } } }
} } } }";

async fn nested_rooms_cost_a_fixed_number_of_statements(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (_, cat_id) = app.register("cat").await;
    let react = "mutation($m: UUID!) { react(messageId: $m, emoji: \"👍\") { id } }";
    let reply = "mutation($r: UUID!, $m: UUID!) { sendMessage(input: { roomId: $r, body: \"re\", replyToId: $m }) { id } }";
    let mut counts = Vec::new();
    let mut rooms = 0;
    for target in [5, 50] {
        while rooms < target {
            let room = app
                .create_room(&ann, &format!("room{rooms}"), &[&bob_id, &cat_id])
                .await;
            let first = app.send(&bob, &room, "hello").await;
            app.ok(Some(&ann), react, json!({ "m": first })).await;
            app.ok(Some(&ann), reply, json!({ "r": room, "m": first }))
                .await;
            rooms += 1;
        }
        // Let the background work of the sends (unread counters) finish, so only the query
        // below is counted; warm the session's activity stamp so both runs do the same auth work.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        app.ok(Some(&ann), "{ me { id } }", json!({})).await;
        let before = app.statements();
        let data = app.ok(Some(&ann), NESTED, json!({ "n": target })).await;
        counts.push(app.statements() - before);

        let edges = data["myRooms"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), target);
        let node = &edges[0]["node"];
        assert_eq!(node["memberCount"], 3);
        assert_eq!(node["members"].as_array().unwrap().len(), 3);
        assert_eq!(node["lastMessage"]["sender"]["username"], "ann");
        assert_eq!(node["unreadCount"], 0, "ann wrote the last message");
        let messages = node["messages"]["edges"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1]["node"]["replyTo"]["sender"]["username"], "bob");
        assert_eq!(
            messages[0]["node"]["reactions"][0]["users"][0]["username"],
            "ann"
        );
        assert_eq!(
            messages[0]["node"]["readBy"],
            json!([{ "username": "ann" }])
        );
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 rooms vs 50: {counts:?}"
    );
    // 1 session + 2 room page (ids, rows) + members with users + creators + last messages and
    // their senders (2) + unread counts + message pages and their senders (2) + reply targets +
    // reactions with users + readers and their users (2) + reply senders = 15.
    assert!(counts[1] <= 15, "nested query ran {counts:?} statements");
}
