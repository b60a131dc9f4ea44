//! Notifications the app makes (`notifyUser`, server administrators only), users deleting
//! their own (`deleteNotifications`), and members added in a role (`addMember(role:)`).

use serde_json::json;

use crate::on_both_backends;
use crate::util::{TestApp, first_error};
use crate::wsclient::{TRANSPORT, Ws};

on_both_backends!(
    admins_notify_users_live,
    notify_user_checks_its_input,
    users_delete_only_their_own_notifications,
    members_are_added_in_a_role,
);

const NOTIFY: &str = "mutation($u: UUID!, $k: String, $t: String!, $b: String, $d: JSON) {
    notifyUser(userId: $u, kind: $k, title: $t, body: $b, data: $d) { id kind title body data readAt }
}";
const INBOX: &str = "{ notifications(first: 50) { nodes { id kind title readAt } } }";
const DELETE: &str = "mutation($ids: [UUID!]!) { deleteNotifications(ids: $ids) }";

async fn admins_notify_users_live(app: &TestApp) {
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    app.make_admin("root").await;
    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;
    ws.subscribe(
        "me",
        "subscription { myEvents { __typename ... on NotificationAdded { notification { id kind title body data } } } }",
        json!({}),
    )
    .await;
    app.wait_for_listeners(&bob.id, 1).await;

    let data = root
        .ok(
            NOTIFY,
            json!({ "u": bob.id, "k": "billing.invoice_due", "t": "  Invoice due  ", "b": "Pay by Friday",
                    "d": { "invoiceId": 42, "lines": [1, 2] } }),
        )
        .await;
    let made = &data["notifyUser"];
    assert_eq!(made["kind"], "billing.invoice_due");
    assert_eq!(made["title"], "Invoice due", "trimmed");
    assert!(made["readAt"].is_null());

    let got = ws.next("me").await;
    let event = &got["data"]["myEvents"];
    assert_eq!(event["__typename"], "NotificationAdded", "{got}");
    assert_eq!(event["notification"]["id"], made["id"]);
    assert_eq!(event["notification"]["body"], "Pay by Friday");
    assert_eq!(event["notification"]["data"]["invoiceId"], 42);

    // The kind defaults to `info`; it lands in the inbox and is marked read like any other.
    let data = root
        .ok(NOTIFY, json!({ "u": bob.id, "t": "Welcome" }))
        .await;
    assert_eq!(data["notifyUser"]["kind"], "info");
    let inbox = bob.ok(INBOX, json!({})).await;
    let nodes = inbox["notifications"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["title"], "Welcome", "newest first");
    let marked = bob
        .ok("mutation { markNotificationsRead }", json!({}))
        .await;
    assert_eq!(marked["markNotificationsRead"], 2);

    // Anyone else is refused, and nothing is written.
    let body = bob.gql(NOTIFY, json!({ "u": root.id, "t": "hi" })).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let body = app
        .gql(None, NOTIFY, json!({ "u": root.id, "t": "hi" }))
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");
    assert_eq!(app.count("notifications").await, 2);
}

async fn notify_user_checks_its_input(app: &TestApp) {
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    app.make_admin("root").await;
    let big = "x".repeat(16 * 1024);
    let deep = (0..20).fold(json!(1), |inner, _| json!({ "x": inner }));
    let cases = [
        (json!({ "u": bob.id, "k": "Has Caps", "t": "t" }), "kind"),
        (
            json!({ "u": bob.id, "k": "k".repeat(33), "t": "t" }),
            "kind",
        ),
        (json!({ "u": bob.id, "k": "", "t": "t" }), "kind"),
        (json!({ "u": bob.id, "t": "   " }), "title"),
        (json!({ "u": bob.id, "t": "t".repeat(201) }), "title"),
        (
            json!({ "u": bob.id, "t": "t", "b": "b".repeat(2001) }),
            "body",
        ),
        (json!({ "u": bob.id, "t": "t", "d": [1, 2] }), "data"),
        (
            json!({ "u": bob.id, "t": "t", "d": { "big": big } }),
            "data",
        ),
        (json!({ "u": bob.id, "t": "t", "d": deep }), "data"),
    ];
    for (vars, field) in cases {
        let body = root.gql(NOTIFY, vars.clone()).await;
        let (code, _, got_field) = first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{vars}: {body}");
        assert_eq!(got_field.as_deref(), Some(field), "{vars}: {body}");
    }
    // 32 characters is the longest kind; a bare title is enough.
    let data = root
        .ok(
            NOTIFY,
            json!({ "u": bob.id, "k": "k".repeat(32), "t": "t" }),
        )
        .await;
    assert_eq!(data["notifyUser"]["kind"], "k".repeat(32));
    // An unknown user is not found.
    let body = root
        .gql(NOTIFY, json!({ "u": uuid::Uuid::now_v7(), "t": "t" }))
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    assert_eq!(app.count("notifications").await, 1);
}

async fn users_delete_only_their_own_notifications(app: &TestApp) {
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    app.make_admin("root").await;
    let mut ids = Vec::new();
    for (user, title) in [(&bob, "b1"), (&bob, "b2"), (&bob, "b3"), (&cat, "c1")] {
        let data = root.ok(NOTIFY, json!({ "u": user.id, "t": title })).await;
        ids.push(data["notifyUser"]["id"].as_str().unwrap().to_owned());
    }
    // Cat's id among bob's is ignored: bob deletes two of his, not cat's.
    let data = bob
        .ok(DELETE, json!({ "ids": [&ids[0], &ids[1], &ids[3]] }))
        .await;
    assert_eq!(data["deleteNotifications"], 2);
    let inbox = bob.ok(INBOX, json!({})).await;
    let left: Vec<&str> = inbox["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["b3"]);
    let inbox = cat.ok(INBOX, json!({})).await;
    assert_eq!(inbox["notifications"]["nodes"][0]["title"], "c1");
    // Deleting again deletes nothing; none is fine; more than 100 at once is refused.
    let data = bob.ok(DELETE, json!({ "ids": [&ids[0]] })).await;
    assert_eq!(data["deleteNotifications"], 0);
    let data = bob.ok(DELETE, json!({ "ids": [] })).await;
    assert_eq!(data["deleteNotifications"], 0);
    let many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let body = bob.gql(DELETE, json!({ "ids": many })).await;
    let (code, _, field) = first_error(&body);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("ids"))
    );
    // markNotificationsRead still works on what is left.
    let data = bob
        .ok("mutation { markNotificationsRead }", json!({}))
        .await;
    assert_eq!(data["markNotificationsRead"], 1);
    assert_eq!(app.count("notifications").await, 2);
}

const ADD: &str = "mutation($r: UUID!, $u: UUID!, $role: MemberRole) {
    addMember(roomId: $r, userId: $u, role: $role) { role user { username } }
}";

async fn members_are_added_in_a_role(app: &TestApp) {
    let owner = app.user("owner").await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let dan = app.user("dan").await;
    let eve = app.user("eve").await;
    let fay = app.user("fay").await;
    let room = owner.create_room("roles", &[&member]).await;

    // Owners add admins in one call, as the seed's addMember(room, user, 'admin') does.
    let data = owner
        .ok(ADD, json!({ "r": room, "u": admin.id, "role": "ADMIN" }))
        .await;
    assert_eq!(data["addMember"]["role"], "ADMIN");
    // Omitted, the role is MEMBER.
    let data = admin.ok(ADD, json!({ "r": room, "u": dan.id })).await;
    assert_eq!(data["addMember"]["role"], "MEMBER");
    // Admins add members only; nobody adds an owner; members add no one.
    let refused = [
        (&admin, &eve, "ADMIN"),
        (&admin, &eve, "OWNER"),
        (&owner, &eve, "OWNER"),
        (&member, &eve, "MEMBER"),
    ];
    for (caller, target, role) in refused {
        let body = caller
            .gql(ADD, json!({ "r": room, "u": target.id, "role": role }))
            .await;
        assert_eq!(first_error(&body).0, "FORBIDDEN", "{role}: {body}");
    }
    let data = admin
        .ok(ADD, json!({ "r": room, "u": eve.id, "role": "MEMBER" }))
        .await;
    assert_eq!(data["addMember"]["role"], "MEMBER");
    // Someone already in the room: the same (or no) role returns them as they are; another
    // role is a conflict (setMemberRole changes roles).
    let data = owner.ok(ADD, json!({ "r": room, "u": admin.id })).await;
    assert_eq!(data["addMember"]["role"], "ADMIN");
    let body = owner
        .gql(ADD, json!({ "r": room, "u": eve.id, "role": "ADMIN" }))
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT", "{body}");
    // A former member rejoins in the role asked for.
    owner.ok(ADD, json!({ "r": room, "u": fay.id })).await;
    fay.ok(
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    let data = owner
        .ok(ADD, json!({ "r": room, "u": fay.id, "role": "ADMIN" }))
        .await;
    assert_eq!(data["addMember"]["role"], "ADMIN");

    let data = owner
        .ok(
            "query($r: UUID!) { room(id: $r) { members { role user { username } } } }",
            json!({ "r": room }),
        )
        .await;
    let mut roles: Vec<(String, String)> = data["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["username"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    roles.sort();
    let want: Vec<(String, String)> = [
        ("admin", "ADMIN"),
        ("dan", "MEMBER"),
        ("eve", "MEMBER"),
        ("fay", "ADMIN"),
        ("member", "MEMBER"),
        ("owner", "OWNER"),
    ]
    .iter()
    .map(|(u, r)| (u.to_string(), r.to_string()))
    .collect();
    assert_eq!(roles, want);
}
