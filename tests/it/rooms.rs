//! Rooms and membership over HTTP: create, direct rooms, join codes, caps, leave, roles.

use futures_util::future::join_all;
use serde_json::json;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};

const ROOM: &str = "query($id: UUID!) { room(id: $id) { id kind name topic joinCode maxMembers memberCount myRole createdBy { username } members { role user { username } } } }";
const CREATE: &str =
    "mutation($input: CreateRoomInput!) { createRoom(input: $input) { id joinCode maxMembers } }";
const JOIN: &str = "mutation($code: String!) { joinRoom(code: $code) { id memberCount } }";
const UPDATE: &str = "mutation($input: UpdateRoomInput!) { updateRoom(input: $input) { id name topic joinCode maxMembers archivedAt } }";
const SET_ROLE: &str = "mutation($room: UUID!, $user: UUID!, $role: MemberRole!) { setMemberRole(roomId: $room, userId: $user, role: $role) { role } }";
const REMOVE: &str =
    "mutation($room: UUID!, $user: UUID!) { removeMember(roomId: $room, userId: $user) }";
const ADD: &str = "mutation($room: UUID!, $user: UUID!) { addMember(roomId: $room, userId: $user) { role user { username } } }";
const LEAVE: &str = "mutation($room: UUID!) { leaveRoom(roomId: $room) }";

on_both_backends!(
    create_room_with_members,
    direct_rooms_are_created_once,
    join_codes_and_caps,
    concurrent_joins_respect_the_cap,
    leave_rejoin_and_last_owner,
    admins_and_owners_manage_members,
    update_room_settings,
    my_rooms_by_latest_activity,
);

async fn create_room_with_members(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let room = app.create_room(&ann, "  Team  ", &[&bob_id, &bob_id]).await;

    let data = app.ok(Some(&bob), ROOM, json!({ "id": room })).await;
    let r = &data["room"];
    assert_eq!(r["name"], "Team");
    assert_eq!(r["kind"], "GROUP");
    assert_eq!(r["memberCount"], 2);
    assert_eq!(r["myRole"], "MEMBER");
    assert_eq!(r["createdBy"]["username"], "ann");
    assert_eq!(
        r["members"],
        json!([
            { "role": "OWNER", "user": { "username": "ann" } },
            { "role": "MEMBER", "user": { "username": "bob" } },
        ])
    );
    assert!(r["joinCode"].is_null());
    // Outsiders cannot tell the room exists.
    assert!(app.ok(Some(&cat), ROOM, json!({ "id": room })).await["room"].is_null());

    for (input, field) in [
        (json!({ "name": "   " }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (
            json!({ "name": "t", "memberIds": ["01900000-0000-7000-8000-000000000009"] }),
            "memberIds",
        ),
        (json!({ "name": "t", "maxMembers": 1 }), "maxMembers"),
        (
            json!({ "name": "t", "maxMembers": 2, "memberIds": [bob_id, app.register("dan").await.1] }),
            "memberIds",
        ),
        (json!({ "name": "t", "topic": "x".repeat(1001) }), "topic"),
    ] {
        let body = app.gql(Some(&ann), CREATE, json!({ "input": input })).await;
        let (code, _, got) = first_error(&body);
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field)),
            "{input}"
        );
    }
    assert_eq!(app.count("rooms").await, 1);
    let body = app
        .gql(None, CREATE, json!({ "input": { "name": "x" } }))
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
}

async fn direct_rooms_are_created_once(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let open =
        "mutation($user: UUID!) { openDirectRoom(userId: $user) { id kind name memberCount } }";
    let calls = (0..8).map(|i| {
        let (token, other) = if i % 2 == 0 {
            (&ann, &bob_id)
        } else {
            (&bob, &ann_id)
        };
        app.ok(Some(token), open, json!({ "user": other }))
    });
    let results = join_all(calls).await;
    let id = results[0]["openDirectRoom"]["id"].clone();
    for result in &results {
        assert_eq!(result["openDirectRoom"]["id"], id, "{result}");
        assert_eq!(result["openDirectRoom"]["kind"], "DIRECT");
        assert_eq!(result["openDirectRoom"]["memberCount"], 2);
    }
    assert_eq!(app.count("rooms").await, 1);
    assert_eq!(app.count("room_members").await, 2);

    let body = app.gql(Some(&ann), open, json!({ "user": ann_id })).await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(&ann),
            open,
            json!({ "user": "01900000-0000-7000-8000-000000000009" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    // Leaving a direct room and opening it again brings you back.
    app.ok(Some(&ann), LEAVE, json!({ "room": id })).await;
    assert!(app.ok(Some(&ann), ROOM, json!({ "id": id })).await["room"].is_null());
    let again = app.ok(Some(&ann), open, json!({ "user": bob_id })).await;
    assert_eq!(again["openDirectRoom"]["id"], id);
    assert_eq!(again["openDirectRoom"]["memberCount"], 2);
}

async fn join_codes_and_caps(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, _) = app.register("bob").await;
    let (cat, _) = app.register("cat").await;
    let (dan, _) = app.register("dan").await;
    let created = app
        .ok(
            Some(&ann),
            CREATE,
            json!({ "input": { "name": "Club", "maxMembers": 3, "withJoinCode": true } }),
        )
        .await;
    let room = created["createRoom"]["id"].as_str().unwrap().to_owned();
    let code = created["createRoom"]["joinCode"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 6);
    assert!(
        code.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{code}"
    );

    let joined = app
        .ok(Some(&bob), JOIN, json!({ "code": code.to_lowercase() }))
        .await;
    assert_eq!(joined["joinRoom"]["id"], room);
    assert_eq!(joined["joinRoom"]["memberCount"], 2);
    // Joining twice changes nothing.
    assert_eq!(
        app.ok(Some(&bob), JOIN, json!({ "code": code })).await["joinRoom"]["memberCount"],
        2
    );
    app.ok(Some(&cat), JOIN, json!({ "code": code })).await;
    let body = app.gql(Some(&dan), JOIN, json!({ "code": code })).await;
    assert_eq!(first_error(&body).0, "CONFLICT", "{body}");

    for bad in ["", "ABC", "ABCDEFG", "ABC-12", "O0O0O0"] {
        let body = app.gql(Some(&dan), JOIN, json!({ "code": bad })).await;
        assert_eq!(first_error(&body).0, "BAD_USER_INPUT", "{bad}");
    }
    let unused = if code == "ZZZZZZ" { "YYYYYY" } else { "ZZZZZZ" };
    let body = app.gql(Some(&dan), JOIN, json!({ "code": unused })).await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");

    // A fresh code retires the old one.
    let updated = app
        .ok(
            Some(&ann),
            UPDATE,
            json!({ "input": { "roomId": room, "withJoinCode": true, "maxMembers": null } }),
        )
        .await;
    let fresh = updated["updateRoom"]["joinCode"].as_str().unwrap();
    assert_ne!(fresh, code);
    assert!(updated["updateRoom"]["maxMembers"].is_null());
    assert_eq!(
        first_error(&app.gql(Some(&dan), JOIN, json!({ "code": code })).await).0,
        "NOT_FOUND"
    );
    app.ok(Some(&dan), JOIN, json!({ "code": fresh })).await;
    let off = app
        .ok(
            Some(&ann),
            UPDATE,
            json!({ "input": { "roomId": room, "withJoinCode": false } }),
        )
        .await;
    assert!(off["updateRoom"]["joinCode"].is_null());
}

async fn concurrent_joins_respect_the_cap(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let created = app
        .ok(
            Some(&ann),
            CREATE,
            json!({ "input": { "name": "Cap", "maxMembers": 5, "withJoinCode": true } }),
        )
        .await;
    let room = created["createRoom"]["id"].as_str().unwrap().to_owned();
    let code = created["createRoom"]["joinCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tokens = Vec::new();
    for i in 0..12 {
        tokens.push(app.register(&format!("user{i}")).await.0);
    }
    let results = join_all(
        tokens
            .iter()
            .map(|t| app.gql(Some(t), JOIN, json!({ "code": code }))),
    )
    .await;
    let ok = results.iter().filter(|r| r.get("errors").is_none()).count();
    let full = results
        .iter()
        .filter(|r| r.get("errors").is_some() && first_error(r).0 == "CONFLICT")
        .count();
    assert_eq!((ok, full), (4, 8), "{results:?}");
    let data = app.ok(Some(&ann), ROOM, json!({ "id": room })).await;
    assert_eq!(data["room"]["memberCount"], 5);
}

async fn leave_rejoin_and_last_owner(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let created = app
        .ok(
            Some(&ann),
            CREATE,
            json!({ "input": { "name": "Club", "memberIds": [bob_id], "withJoinCode": true } }),
        )
        .await;
    let room = created["createRoom"]["id"].as_str().unwrap().to_owned();
    let code = created["createRoom"]["joinCode"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(
        app.ok(Some(&bob), LEAVE, json!({ "room": room })).await["leaveRoom"],
        true
    );
    assert!(app.ok(Some(&bob), ROOM, json!({ "id": room })).await["room"].is_null());
    assert_eq!(
        first_error(&app.gql(Some(&bob), LEAVE, json!({ "room": room })).await).0,
        "NOT_FOUND"
    );
    assert_eq!(app.count("room_members").await, 2, "leaving is soft");
    app.ok(Some(&bob), JOIN, json!({ "code": code })).await;
    let data = app.ok(Some(&bob), ROOM, json!({ "id": room })).await;
    assert_eq!(data["room"]["memberCount"], 2);
    assert_eq!(data["room"]["myRole"], "MEMBER");

    // The last owner hands over before leaving.
    let body = app.gql(Some(&ann), LEAVE, json!({ "room": room })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");
    app.ok(
        Some(&ann),
        SET_ROLE,
        json!({ "room": room, "user": bob_id, "role": "OWNER" }),
    )
    .await;
    app.ok(Some(&ann), LEAVE, json!({ "room": room })).await;
    let data = app.ok(Some(&bob), ROOM, json!({ "id": room })).await;
    assert_eq!(
        data["room"]["members"],
        json!([{ "role": "OWNER", "user": { "username": "bob" } }])
    );
}

async fn admins_and_owners_manage_members(app: &TestApp) {
    let (ann, ann_id) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (cat, cat_id) = app.register("cat").await;
    let (_, dan_id) = app.register("dan").await;
    let (_, eve_id) = app.register("eve").await;
    let room = app
        .create_room(&ann, "Ops", &[&bob_id, &cat_id, &dan_id])
        .await;
    let v = |user: &str| json!({ "room": room, "user": user });

    // Members manage nothing.
    for (query, vars) in [
        (ADD, v(&eve_id)),
        (REMOVE, v(&dan_id)),
        (
            SET_ROLE,
            json!({ "room": room, "user": dan_id, "role": "ADMIN" }),
        ),
    ] {
        assert_eq!(
            first_error(&app.gql(Some(&bob), query, vars).await).0,
            "FORBIDDEN"
        );
    }
    app.ok(
        Some(&ann),
        SET_ROLE,
        json!({ "room": room, "user": bob_id, "role": "ADMIN" }),
    )
    .await;

    // Admins add, remove members, and move non-owners between member and admin.
    let added = app.ok(Some(&bob), ADD, v(&eve_id)).await;
    assert_eq!(added["addMember"]["role"], "MEMBER");
    assert_eq!(
        app.ok(Some(&bob), REMOVE, v(&cat_id)).await["removeMember"],
        true
    );
    app.ok(
        Some(&bob),
        SET_ROLE,
        json!({ "room": room, "user": dan_id, "role": "ADMIN" }),
    )
    .await;
    let refused = [
        (REMOVE, v(&ann_id), "FORBIDDEN"),
        (REMOVE, v(&dan_id), "FORBIDDEN"),
        (
            SET_ROLE,
            json!({ "room": room, "user": eve_id, "role": "OWNER" }),
            "FORBIDDEN",
        ),
        (
            SET_ROLE,
            json!({ "room": room, "user": ann_id, "role": "MEMBER" }),
            "FORBIDDEN",
        ),
        (REMOVE, v(&bob_id), "BAD_USER_INPUT"),
        (REMOVE, v(&cat_id), "NOT_FOUND"),
    ];
    for (query, vars, code) in refused {
        assert_eq!(
            first_error(&app.gql(Some(&bob), query, vars.clone()).await).0,
            code,
            "{vars}"
        );
    }
    // The sole owner cannot demote themselves; owners can remove admins.
    let body = app
        .gql(
            Some(&ann),
            SET_ROLE,
            json!({ "room": room, "user": ann_id, "role": "ADMIN" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");
    app.ok(Some(&ann), REMOVE, v(&dan_id)).await;

    // A removed member is out: no reading, no writing.
    assert!(app.ok(Some(&cat), ROOM, json!({ "id": room })).await["room"].is_null());
    let body = app
        .gql(
            Some(&cat),
            "mutation($r: UUID!) { sendMessage(input: { roomId: $r, body: \"hi\" }) { id } }",
            json!({ "r": room }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");
    let data = app.ok(Some(&ann), ROOM, json!({ "id": room })).await;
    let names: Vec<&str> = data["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "bob", "eve"]);
}

async fn update_room_settings(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let (bob, bob_id) = app.register("bob").await;
    let (_, cat_id) = app.register("cat").await;
    let room = app.create_room(&ann, "Old", &[&bob_id, &cat_id]).await;
    let data = app
        .ok(
            Some(&ann),
            UPDATE,
            json!({ "input": { "roomId": room, "name": "New", "topic": "Plans" } }),
        )
        .await;
    assert_eq!(data["updateRoom"]["name"], "New");
    assert_eq!(data["updateRoom"]["topic"], "Plans");
    let data = app
        .ok(
            Some(&ann),
            UPDATE,
            json!({ "input": { "roomId": room, "topic": null } }),
        )
        .await;
    assert!(data["updateRoom"]["topic"].is_null());
    assert_eq!(data["updateRoom"]["name"], "New");

    let body = app
        .gql(
            Some(&bob),
            UPDATE,
            json!({ "input": { "roomId": room, "name": "Mine" } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");
    let body = app
        .gql(
            Some(&ann),
            UPDATE,
            json!({ "input": { "roomId": room, "maxMembers": 2 } }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("maxMembers"));

    // Archived rooms are read-only.
    let data = app
        .ok(
            Some(&ann),
            UPDATE,
            json!({ "input": { "roomId": room, "archived": true } }),
        )
        .await;
    assert!(data["updateRoom"]["archivedAt"].is_string());
    let send = "mutation($r: UUID!) { sendMessage(input: { roomId: $r, body: \"hi\" }) { id } }";
    assert_eq!(
        first_error(&app.gql(Some(&bob), send, json!({ "r": room })).await).0,
        "FORBIDDEN"
    );
    app.ok(
        Some(&ann),
        UPDATE,
        json!({ "input": { "roomId": room, "archived": false } }),
    )
    .await;
    app.ok(Some(&bob), send, json!({ "r": room })).await;
}

async fn my_rooms_by_latest_activity(app: &TestApp) {
    let (ann, _) = app.register("ann").await;
    let first = app.create_room(&ann, "first", &[]).await;
    let second = app.create_room(&ann, "second", &[]).await;
    let third = app.create_room(&ann, "third", &[]).await;
    let query = "query($after: String) { myRooms(first: 2, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }";
    let names = |data: &serde_json::Value| -> Vec<String> {
        data["myRooms"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let page = app.ok(Some(&ann), query, json!({})).await;
    assert_eq!(names(&page), ["third", "second"]);
    // A message makes the oldest room the most active.
    app.send(&ann, &first, "bump").await;
    let page = app.ok(Some(&ann), query, json!({})).await;
    assert_eq!(names(&page), ["first", "third"]);
    assert_eq!(page["myRooms"]["pageInfo"]["hasNextPage"], true);
    let cursor = page["myRooms"]["pageInfo"]["endCursor"].clone();
    let rest = app.ok(Some(&ann), query, json!({ "after": cursor })).await;
    assert_eq!(names(&rest), ["second"]);
    assert_eq!(rest["myRooms"]["pageInfo"]["hasNextPage"], false);
    let _ = (second, third);
    // `me.rooms` is the same list.
    let me = app
        .ok(
            Some(&ann),
            "{ me { rooms(first: 10) { edges { node { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["me"]["rooms"]["edges"].as_array().unwrap().len(), 3);
}
