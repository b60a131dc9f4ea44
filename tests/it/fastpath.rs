//! Messages, members, senders and reactions are written straight from the models when a
//! selection allows it (`graphql::fastpath`), and by their resolvers otherwise. Both must give
//! the same answer: every field either path writes, for an administrator and a member.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(direct_answers_match_the_resolvers);

/// Every field `direct` writes on a member, a user, a message and a reaction group, through
/// fragments, an alias and `__typename`.
const ROOM: &str = "query($r: UUID!, $q: String!) {
  room(id: $r) {
    members { __typename roomId role joinedAt leftAt lastReadMessageId user { ...U } }
    lastMessage { ...M }
    messages(first: 20) { nodes { ...M } edges { cursor node { __typename id } } }
  }
  searchMessages(query: $q, first: 5) { nodes { ...M } }
}
fragment U on User {
  __typename id username displayName email role chosenStatus lastSeenAt emailVerified
  avatarBlobId createdAt
}
fragment M on Message {
  __typename id roomId kind body deletedBody epoch createdAt editedAt deletedAt
  text: body
  sender { ...U }
  ... on Message {
    reactions { __typename emoji count reactedByMe users { ...U } }
  }
}";

async fn direct_answers_match_the_resolvers(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, cat_id) = app.register("cat").await;
    app.make_admin("ann").await;
    let room = app.create_room(&ann, "direct", &[&bob_id, &cat_id]).await;
    let hello = app.send(&ann, &room, "hello there").await;
    let hi = app.send(&bob, &room, "hello back").await;
    let gone = app.send(&cat, &room, "hello, soon gone").await;
    let react = "mutation($m: UUID!, $e: String!) { react(messageId: $m, emoji: $e) { id } }";
    for (token, message, emoji) in [
        (&ann, &hello, "👍"),
        (&bob, &hello, "👍"),
        (&cat, &hello, "🎉"),
        (&bob, &hi, "❤️"),
    ] {
        app.ok(Some(token), react, json!({ "m": message, "e": emoji }))
            .await;
    }
    app.ok(
        Some(&bob),
        "mutation($m: UUID!) { editMessage(id: $m, body: \"hello again\") { id } }",
        json!({ "m": hi }),
    )
    .await;
    app.ok(
        Some(&cat),
        "mutation($m: UUID!) { deleteMessage(id: $m) { id } }",
        json!({ "m": gone }),
    )
    .await;
    app.ok(
        Some(&bob),
        "mutation($r: UUID!, $m: UUID!) { markRead(roomId: $r, messageId: $m) { lastReadMessageId } }",
        json!({ "r": room, "m": hello }),
    )
    .await;

    // A response key selected twice (merged into one) makes every object of the answer go to
    // its resolvers.
    let by_resolvers = ROOM.replace("__typename", "__typename __typename");
    let vars = json!({ "r": room, "q": "hello" });
    for token in [&ann, &bob] {
        let direct = app.ok(Some(token), ROOM, vars.clone()).await;
        let resolvers = app.ok(Some(token), &by_resolvers, vars.clone()).await;
        assert_eq!(direct, resolvers);
        // The answer holds what the comparison is meant to cover.
        let messages = &direct["room"]["messages"]["nodes"];
        assert_eq!(messages.as_array().unwrap().len(), 3, "{direct}");
        let by_id = |id: &str| -> &Value {
            messages
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == id)
                .unwrap()
        };
        assert_eq!(by_id(&hello)["reactions"][0]["count"], 2);
        assert_eq!(by_id(&hello)["reactions"][1]["emoji"], "🎉");
        assert_eq!(by_id(&hi)["text"], "hello again");
        assert!(by_id(&hi)["editedAt"].is_string());
        assert!(by_id(&gone)["deletedAt"].is_string());
        assert!(by_id(&gone)["body"].is_null());
        let admin = std::ptr::eq(token, &ann);
        assert_eq!(
            by_id(&gone)["deletedBody"],
            if admin {
                json!("hello, soon gone")
            } else {
                Value::Null
            }
        );
        assert_eq!(by_id(&hello)["sender"]["__typename"], "User");
        let me = if admin { "ann" } else { "bob" };
        let members = direct["room"]["members"].as_array().unwrap();
        assert_eq!(members.len(), 3);
        for member in members {
            let own = member["user"]["username"] == me;
            assert_eq!(member["user"]["email"].is_string(), own, "{member}");
        }
        assert_eq!(
            direct["searchMessages"]["nodes"].as_array().unwrap().len(),
            2
        );
    }
}
