//! Full-text search over HTTP: ranked, scoped to the caller's rooms, in step with edits and
//! deletes, paginated.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const SEARCH: &str = "query($q: String!, $room: UUID, $first: Int, $after: String) { searchMessages(query: $q, roomId: $room, first: $first, after: $after) { edges { cursor node { id body room { name } } } pageInfo { hasNextPage endCursor } } }";

on_both_backends!(search_finds_ranked_scoped_and_current);

fn bodies(data: &Value) -> Vec<String> {
    data["searchMessages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn search_finds_ranked_scoped_and_current(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let shared = app.create_room(&ann, "shared", &[&bob_id]).await;
    let private = app.create_room(&cat, "private", &[]).await;
    app.send(&ann, &shared, "The deploy is done").await;
    let edited = app.send(&bob, &shared, "Lunch plans?").await;
    let deleted = app.send(&ann, &shared, "deploy secrets: hunter2").await;
    app.send(&ann, &shared, "deploy deploy deploy, Déploiement!")
        .await;
    app.send(&cat, &private, "deploy in cat's private room")
        .await;

    // Ranked: the body saying "deploy" most comes first; cat's room is not searched for bob.
    let read_before = app.sqlite_reads();
    let data = app.ok(Some(&bob), SEARCH, json!({ "q": "DEPLOY" })).await;
    // On SQLite both of the search's statements (bob's rooms' tokens, then the matches) run
    // on the server's readers (confab::db::direct).
    if let (Some(before), Some(after)) = (read_before, app.sqlite_reads()) {
        assert!(
            after - before >= 2,
            "search on the SQLite readers: {before} -> {after}"
        );
    }
    let found = bodies(&data);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], "deploy deploy deploy, Déploiement!");
    assert!(!found.iter().any(|b| b.contains("private")));

    // Deleted messages are never found; edits are found by their new words only.
    app.ok(
        Some(&ann),
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": deleted }),
    )
    .await;
    app.ok(
        Some(&bob),
        "mutation($id: UUID!) { editMessage(id: $id, body: \"dinner plans\") { id } }",
        json!({ "id": edited }),
    )
    .await;
    assert!(bodies(&app.ok(Some(&bob), SEARCH, json!({ "q": "hunter2" })).await).is_empty());
    assert!(bodies(&app.ok(Some(&bob), SEARCH, json!({ "q": "lunch" })).await).is_empty());
    assert_eq!(
        bodies(
            &app.ok(Some(&bob), SEARCH, json!({ "q": "dinner plans" }))
                .await
        ),
        ["dinner plans"]
    );

    // All words must match; punctuation and operators are not syntax ("or" and "not" are
    // English stop words on PostgreSQL, which match anything: "zebra" must still match).
    assert_eq!(
        bodies(
            &app.ok(
                Some(&ann),
                SEARCH,
                json!({ "q": "deploy \"done\" OR NOT zebra" })
            )
            .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        bodies(
            &app.ok(Some(&ann), SEARCH, json!({ "q": "deploy (done)*" }))
                .await
        ),
        ["The deploy is done"]
    );

    // Pages.
    let first = app
        .ok(Some(&bob), SEARCH, json!({ "q": "deploy", "first": 1 }))
        .await;
    assert_eq!(first["searchMessages"]["pageInfo"]["hasNextPage"], true);
    let after = first["searchMessages"]["pageInfo"]["endCursor"].clone();
    let second = app
        .ok(
            Some(&bob),
            SEARCH,
            json!({ "q": "deploy", "first": 1, "after": after }),
        )
        .await;
    assert_eq!(bodies(&second), ["The deploy is done"]);
    assert_eq!(second["searchMessages"]["pageInfo"]["hasNextPage"], false);

    // Scoped to one room; a room the caller is not in is NOT_FOUND.
    let data = app
        .ok(
            Some(&cat),
            SEARCH,
            json!({ "q": "deploy", "room": private }),
        )
        .await;
    assert_eq!(bodies(&data), ["deploy in cat's private room"]);
    let body = app
        .gql(
            Some(&bob),
            SEARCH,
            json!({ "q": "deploy", "room": private }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    for q in ["", "   ", "!!!"] {
        let (code, _, field) = first_error(&app.gql(Some(&bob), SEARCH, json!({ "q": q })).await);
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("query"))
        );
    }
    let body = app
        .gql(Some(&bob), SEARCH, json!({ "q": "x", "after": "garbage" }))
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("after"));
    assert_eq!(
        first_error(&app.gql(None, SEARCH, json!({ "q": "deploy" })).await).0,
        "UNAUTHENTICATED"
    );
}

on_both_backends!(
    search_order_is_occurrences_then_newest_across_pages,
    search_reads_only_the_rooms_the_caller_is_in
);

/// Every page of `q` as `token`, `first` at a time, by following `endCursor`.
async fn every_page(app: &TestApp, token: &str, q: &str, first: i64) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(
                Some(token),
                SEARCH,
                json!({ "q": q, "first": first, "after": after }),
            )
            .await;
        pages.push(bodies(&data));
        let info = &data["searchMessages"]["pageInfo"];
        if info["hasNextPage"] != true {
            return pages;
        }
        after = info["endCursor"].clone();
    }
}

async fn search_order_is_occurrences_then_newest_across_pages(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let one = app.create_room(&ann, "one", &[&bob_id]).await;
    let two = app.create_room(&bob, "two", &[]).await;
    let elsewhere = app.create_room(&cat, "elsewhere", &[]).await;
    for (token, room, body) in [
        (&ann, &one, "kiwi first"),
        (&bob, &two, "kiwi kiwi second"),
        (&ann, &one, "kiwi third"),
        (&bob, &two, "kiwi kiwi kiwi fourth"),
        (&bob, &one, "kiwi fifth"),
        (&ann, &one, "kiwi kiwi sixth"),
        (&bob, &two, "kiwi seventh"),
    ] {
        app.send(token, room, body).await;
    }
    let gone = app.send(&bob, &two, "kiwi kiwi kiwi kiwi kiwi").await;
    app.ok(
        Some(&bob),
        "mutation($id: UUID!) { deleteMessage(id: $id) { id } }",
        json!({ "id": gone }),
    )
    .await;
    app.send(&cat, &elsewhere, "kiwi kiwi kiwi kiwi, not bob's")
        .await;

    // Most occurrences of the word first; equal counts newest first. Deleted messages and
    // rooms bob is not in are left out.
    let expected = [
        "kiwi kiwi kiwi fourth",
        "kiwi kiwi sixth",
        "kiwi kiwi second",
        "kiwi seventh",
        "kiwi fifth",
        "kiwi third",
        "kiwi first",
    ];
    let all = every_page(app, &bob, "kiwi", 100).await;
    assert_eq!(all, [expected]);
    // Following the cursors, two at a time, reads the same list once: no match twice, none
    // skipped, the last page says so.
    let pages = every_page(app, &bob, "kiwi", 2).await;
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert_eq!(pages.concat(), expected);
    // One room: the same order, that room's matches only.
    let data = app
        .ok(
            Some(&bob),
            SEARCH,
            json!({ "q": "kiwi", "room": two, "first": 10 }),
        )
        .await;
    assert_eq!(
        bodies(&data),
        ["kiwi kiwi kiwi fourth", "kiwi kiwi second", "kiwi seventh"]
    );
}

async fn search_reads_only_the_rooms_the_caller_is_in(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let shared = app.create_room(&ann, "shared", &[&bob_id]).await;
    let own = app.create_room(&bob, "own", &[]).await;
    let anns = app.create_room(&ann, "ann's", &[]).await;
    app.send(&ann, &shared, "mango in shared").await;
    app.send(&bob, &own, "mango in own").await;
    app.send(&ann, &anns, "mango in ann's").await;
    let sorted = |data: &Value| {
        let mut found = bodies(data);
        found.sort();
        found
    };
    let data = app.ok(Some(&bob), SEARCH, json!({ "q": "mango" })).await;
    assert_eq!(sorted(&data), ["mango in own", "mango in shared"]);

    // A room bob has left is no longer searched, nor can he ask for it by id.
    app.ok(
        Some(&bob),
        "mutation($room: UUID!) { leaveRoom(roomId: $room) }",
        json!({ "room": shared }),
    )
    .await;
    let data = app.ok(Some(&bob), SEARCH, json!({ "q": "mango" })).await;
    assert_eq!(sorted(&data), ["mango in own"]);
    let body = app
        .gql(Some(&bob), SEARCH, json!({ "q": "mango", "room": shared }))
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");

    // What the index keeps to find a message's room (on SQLite, a word made of the room id)
    // is not searchable text.
    let token = format!("r{}0", own.replace('-', ""));
    for q in [token.as_str(), own.as_str()] {
        let data = app.ok(Some(&bob), SEARCH, json!({ "q": q })).await;
        assert_eq!(bodies(&data), Vec::<String>::new(), "{q}");
    }

    // A user in no room finds nothing, without error.
    let (dan, _) = app.register("dan").await;
    let data = app.ok(Some(&dan), SEARCH, json!({ "q": "mango" })).await;
    assert_eq!(bodies(&data), Vec::<String>::new());
}
