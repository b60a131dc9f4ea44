//! Server administration: roles, bans (sessions revoked, sockets closed with 4403, sign-in
//! refused until the ban ends), administrators deleting any message and removing any member,
//! and the audit log that records it all (`auditLog` for administrators, `mySecurityEvents`
//! for one's own account).

use std::time::Duration;

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{TestApp, first_error};
use crate::wsclient::{TRANSPORT, Ws};

const SET_ROLE: &str =
    "mutation($u: UUID!, $r: UserRole!) { setUserRole(userId: $u, role: $r) { id role } }";
const BAN: &str = "mutation($u: UUID!, $reason: String!, $until: DateTime) { banUser(userId: $u, reason: $reason, until: $until) { id } }";
const UNBAN: &str = "mutation($u: UUID!) { unbanUser(userId: $u) { id } }";
const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(input: { login: $l, password: $p }) { token } }";
const AUDIT: &str = "query($first: Int, $after: String, $user: UUID, $kind: String) { auditLog(first: $first, after: $after, userId: $user, kind: $kind) { edges { node { kind actorUserId targetUserId details } } pageInfo { hasNextPage endCursor } } }";
const MINE: &str = "query { mySecurityEvents(first: 50) { edges { node { kind actorUserId targetUserId details ip } } } }";

on_both_backends!(
    roles_are_set_by_administrators,
    bans_revoke_refuse_and_end,
    administrators_delete_messages_and_remove_members,
    the_audit_log_records_and_pages
);

fn kinds(data: &Value, field: &str) -> Vec<String> {
    data[field]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn roles_are_set_by_administrators(app: &TestApp) {
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    app.make_admin("root").await;

    // Signed out: UNAUTHENTICATED everywhere; a user who is not an administrator: FORBIDDEN
    // (except for their own security events).
    let operations = [
        (SET_ROLE, json!({ "u": bob.id, "r": "ADMIN" })),
        (BAN, json!({ "u": root.id, "reason": "coup" })),
        (UNBAN, json!({ "u": root.id })),
        (AUDIT, json!({})),
    ];
    for (query, vars) in &operations {
        let body = app.gql(None, query, vars.clone()).await;
        assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{query}");
        let body = bob.gql(query, vars.clone()).await;
        assert_eq!(first_error(&body).0, "FORBIDDEN", "{query}");
    }
    let body = app.gql(None, MINE, json!({})).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    bob.ok(MINE, json!({})).await;

    // Not an administrator: FORBIDDEN, and nothing changes.
    let body = bob
        .gql(SET_ROLE, json!({ "u": bob.id, "r": "ADMIN" }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");

    // The last administrator cannot step down.
    let body = root
        .gql(SET_ROLE, json!({ "u": root.id, "r": "USER" }))
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT");

    let data = root
        .ok(SET_ROLE, json!({ "u": bob.id, "r": "ADMIN" }))
        .await;
    assert_eq!(data["setUserRole"]["role"], "ADMIN");
    // Bob's very next request is an administrator's (the cached viewer was forgotten).
    bob.ok("query { stats { users } }", json!({})).await;
    // With two administrators, one may step down.
    root.ok(SET_ROLE, json!({ "u": root.id, "r": "USER" }))
        .await;
    let body = root.gql("query { stats { users } }", json!({})).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");
    let body = bob
        .gql(
            SET_ROLE,
            json!({ "u": "00000000-0000-7000-8000-000000000000", "r": "USER" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND");

    // Two administrators demoting each other at once: one of them stays an administrator.
    bob.ok(SET_ROLE, json!({ "u": root.id, "r": "ADMIN" }))
        .await;
    for _ in 0..3 {
        let (a, b) = futures_util::future::join(
            root.gql(SET_ROLE, json!({ "u": bob.id, "r": "USER" })),
            bob.gql(SET_ROLE, json!({ "u": root.id, "r": "USER" })),
        )
        .await;
        let wins = [&a, &b].iter().filter(|r| r["errors"].is_null()).count();
        assert_eq!(wins, 1, "{a} {b}");
        assert_eq!(app.count("users WHERE role = 'admin'").await, 1);
        // The one left promotes the other again for the next round.
        let (admin, other) = if a["errors"].is_null() {
            (&root, &bob)
        } else {
            (&bob, &root)
        };
        admin
            .ok(SET_ROLE, json!({ "u": other.id, "r": "ADMIN" }))
            .await;
    }
}

async fn bans_revoke_refuse_and_end(app: &TestApp) {
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    app.make_admin("root").await;
    let mut ws = Ws::ready(app, TRANSPORT, &bob.token).await;

    // Bad input first: no reason, a past end, oneself.
    let body = root.gql(BAN, json!({ "u": bob.id, "reason": " " })).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("reason"));
    let body = root
        .gql(
            BAN,
            json!({ "u": bob.id, "reason": "spam", "until": "2020-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(first_error(&body).2.as_deref(), Some("until"));
    let body = root.gql(BAN, json!({ "u": root.id, "reason": "me" })).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("userId"));
    let body = bob
        .gql(BAN, json!({ "u": root.id, "reason": "coup" }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");

    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).trunc_subsecs_to_secs();
    root.ok(
        BAN,
        json!({ "u": bob.id, "reason": "spam", "until": until.to_rfc3339() }),
    )
    .await;
    // The open socket closes with the ban's own code; the token no longer works.
    assert_eq!(ws.closed().await, Some(4403));
    let body = bob.gql("query { me { id } }", json!({})).await;
    assert!(
        body["data"]["me"].is_null() || !body["errors"].is_null(),
        "{body}"
    );
    let body = app
        .gql(None, LOGIN, json!({ "l": "bob", "p": "password-bob" }))
        .await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{body}");
    assert_eq!(error["extensions"]["reason"], "BANNED");
    let said = chrono::DateTime::parse_from_rfc3339(
        error["extensions"]["bannedUntil"]
            .as_str()
            .expect("bannedUntil"),
    )
    .unwrap();
    assert_eq!(said.to_utc(), until);
    // A wrong password still says only that: a ban is told to the account holder alone.
    let body = app
        .gql(None, LOGIN, json!({ "l": "bob", "p": "wrong-password" }))
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");

    // Unbanned: bob signs in again.
    root.ok(UNBAN, json!({ "u": bob.id })).await;
    app.ok(None, LOGIN, json!({ "l": "bob", "p": "password-bob" }))
        .await;

    // A permanent ban says so (bannedUntil null).
    root.ok(BAN, json!({ "u": bob.id, "reason": "again" }))
        .await;
    let body = app
        .gql(None, LOGIN, json!({ "l": "bob", "p": "password-bob" }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["reason"], "BANNED");
    assert!(
        body["errors"][0]["extensions"]["bannedUntil"].is_null(),
        "{body}"
    );

    // A short ban ends by itself.
    root.ok(UNBAN, json!({ "u": bob.id })).await;
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    root.ok(
        BAN,
        json!({ "u": bob.id, "reason": "cool off", "until": soon.to_rfc3339() }),
    )
    .await;
    let body = app
        .gql(None, LOGIN, json!({ "l": "bob", "p": "password-bob" }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    app.ok(None, LOGIN, json!({ "l": "bob", "p": "password-bob" }))
        .await;
}

trait TruncSecs {
    fn trunc_subsecs_to_secs(self) -> Self;
}

impl TruncSecs for chrono::DateTime<chrono::Utc> {
    fn trunc_subsecs_to_secs(self) -> Self {
        use chrono::SubsecRound;
        self.trunc_subsecs(0)
    }
}

async fn administrators_delete_messages_and_remove_members(app: &TestApp) {
    let root = app.user("root").await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cat = app.user("cat").await;
    app.make_admin("root").await;
    let room = ann.create_room("ann's", &[&bob, &cat]).await;
    let message = bob.send(&room, "spam spam").await;
    const DELETE: &str = "mutation($id: UUID!) { deleteMessage(id: $id) { id deletedAt } }";
    const REMOVE: &str = "mutation($r: UUID!, $u: UUID!) { removeMember(roomId: $r, userId: $u) }";

    // A plain member may do neither (the room's rules are unchanged for non-administrators).
    assert_eq!(
        first_error(&cat.gql(DELETE, json!({ "id": message })).await).0,
        "FORBIDDEN"
    );
    assert_eq!(
        first_error(&cat.gql(REMOVE, json!({ "r": room, "u": bob.id })).await).0,
        "FORBIDDEN"
    );
    // The server administrator, in none of the room's members, may do both.
    let data = root.ok(DELETE, json!({ "id": message })).await;
    assert!(!data["deleteMessage"]["deletedAt"].is_null());
    root.ok(REMOVE, json!({ "r": room, "u": bob.id })).await;
    let data = ann
        .ok(
            "query($r: UUID!) { room(id: $r) { members { user { username } } messages { nodes { body deletedAt } } } }",
            json!({ "r": room }),
        )
        .await;
    let members: Vec<&str> = data["room"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert!(!members.contains(&"bob"), "{members:?}");
    assert!(!data["room"]["messages"]["nodes"][0]["deletedAt"].is_null());
    // Unknown ids stay NOT_FOUND for administrators too.
    let nobody = "00000000-0000-7000-8000-000000000000";
    assert_eq!(
        first_error(&root.gql(DELETE, json!({ "id": nobody })).await).0,
        "NOT_FOUND"
    );
    assert_eq!(
        first_error(&root.gql(REMOVE, json!({ "r": nobody, "u": cat.id })).await).0,
        "NOT_FOUND"
    );
    // Both are in the audit log, naming whom they concern.
    let data = root.ok(AUDIT, json!({ "user": bob.id })).await;
    assert_eq!(
        kinds(&data, "auditLog"),
        ["member_removed", "message_deleted"]
    );
    for edge in data["auditLog"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["actorUserId"], root.id.as_str());
    }
    // The room owner deleting in their own room is not an administrator action.
    let own = cat.send(&room, "mine").await;
    ann.ok(DELETE, json!({ "id": own })).await;
    let data = root.ok(AUDIT, json!({ "user": cat.id })).await;
    assert!(kinds(&data, "auditLog").is_empty(), "{data}");
}

async fn the_audit_log_records_and_pages(app: &TestApp) {
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    app.make_admin("root").await;

    // Security events of bob's own account: a failed sign-in, a password change, a revoked
    // session; an administrator's role change and ban.
    let body = app
        .gql(None, LOGIN, json!({ "l": "bob", "p": "not-his-password" }))
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED");
    bob.ok(
        "mutation { changePassword(input: { currentPassword: \"password-bob\", newPassword: \"password-bob-2\" }) }",
        json!({}),
    )
    .await;
    let second = app
        .ok(None, LOGIN, json!({ "l": "bob", "p": "password-bob-2" }))
        .await["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.ok("mutation { logout }", json!({})).await;
    let data = app.ok(Some(&second), MINE, json!({})).await;
    let mine = kinds(&data, "mySecurityEvents");
    assert!(mine.contains(&"login_failed".to_owned()), "{mine:?}");
    assert!(mine.contains(&"password_changed".to_owned()), "{mine:?}");
    assert!(mine.contains(&"session_revoked".to_owned()), "{mine:?}");
    let failed = data["mySecurityEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["kind"] == "login_failed")
        .unwrap();
    assert_eq!(failed["node"]["actorUserId"], Value::Null);
    assert_eq!(failed["node"]["targetUserId"], bob.id.as_str());
    // Each records the address the request came from.
    for edge in data["mySecurityEvents"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["ip"], "127.0.0.1", "{edge}");
    }
    // Newest first.
    assert_eq!(
        mine.last().map(String::as_str),
        Some("login_failed"),
        "{mine:?}"
    );
    // Not an administrator: no audit log.
    let body = app.gql(Some(&second), AUDIT, json!({})).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN");

    root.ok(SET_ROLE, json!({ "u": bob.id, "r": "ADMIN" }))
        .await;
    root.ok(SET_ROLE, json!({ "u": bob.id, "r": "USER" })).await;
    root.ok(BAN, json!({ "u": bob.id, "reason": "spam" })).await;
    root.ok(UNBAN, json!({ "u": bob.id })).await;

    // By kind, newest first, paged.
    let data = root
        .ok(AUDIT, json!({ "kind": "role_changed", "first": 1 }))
        .await;
    let page = &data["auditLog"];
    assert_eq!(
        page["edges"][0]["node"]["details"],
        r#"{"from":"admin","to":"user"}"#
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let data = root
        .ok(
            AUDIT,
            json!({ "kind": "role_changed", "first": 1, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        data["auditLog"]["edges"][0]["node"]["details"],
        r#"{"from":"user","to":"admin"}"#
    );
    assert_eq!(data["auditLog"]["pageInfo"]["hasNextPage"], false);
    let data = root.ok(AUDIT, json!({ "user": bob.id, "first": 4 })).await;
    assert_eq!(
        kinds(&data, "auditLog"),
        [
            "user_unbanned",
            "user_banned",
            "role_changed",
            "role_changed"
        ]
    );
    let body = root.gql(AUDIT, json!({ "kind": "nonsense" })).await;
    assert_eq!(first_error(&body).2.as_deref(), Some("kind"));
    // Bob sees the ban in his own events too, and never root's.
    let again = app
        .ok(None, LOGIN, json!({ "l": "bob", "p": "password-bob-2" }))
        .await["login"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = app.ok(Some(&again), MINE, json!({})).await;
    let mine = kinds(&data, "mySecurityEvents");
    assert!(mine.contains(&"user_banned".to_owned()), "{mine:?}");
    for edge in data["mySecurityEvents"]["edges"].as_array().unwrap() {
        assert_eq!(edge["node"]["targetUserId"], bob.id.as_str());
    }
}
