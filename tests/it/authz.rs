//! Who may do what in a room: every room-scoped operation against owner, admin, member,
//! former member, a user the owner blocked, stranger, anonymous and deleted callers. The test
//! also fails when the schema gains an operation that has neither a row here nor a named
//! exemption (with the test that covers it).

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(room_operations_by_role);

#[derive(Clone, Copy, Debug)]
enum Caller {
    Owner,
    Admin,
    Member,
    Former,
    Blocked,
    Stranger,
    Anonymous,
    Deleted,
}

use Caller::*;

const ALL: [Caller; 8] = [
    Owner, Admin, Member, Former, Blocked, Stranger, Anonymous, Deleted,
];

/// Operations that are not room-scoped, and where their authorization is tested.
const EXEMPT: &[(&str, &str)] = &[
    ("me", "auth.rs"),
    ("user", "auth.rs"),
    ("userByUsername", "auth.rs"),
    ("sessions", "auth.rs"),
    ("myRooms", "rooms.rs"),
    ("blob", "blobs.rs"),
    ("storageUsed", "blobs.rs"),
    ("notifications", "realtime.rs"),
    ("contacts", "contacts.rs"),
    ("keyPackageCount", "mls.rs"),
    ("stats", "blobs.rs"),
    ("rooms", "moderation.rs"),
    ("setUserRole", "admin.rs (server administrators only)"),
    (
        "banUser",
        "admin.rs (server administrators only, never themselves)",
    ),
    ("unbanUser", "admin.rs (server administrators only)"),
    ("auditLog", "admin.rs (server administrators only)"),
    ("mySecurityEvents", "admin.rs (signed-in, own account only)"),
    (
        "regenerateRecoveryCodes",
        "recovery_codes.rs (signed-in, own account, with its password)",
    ),
    (
        "disableTotp",
        "recovery_codes.rs (signed-in, own account, password and a code)",
    ),
    ("register", "auth.rs"),
    ("login", "auth.rs"),
    ("logout", "auth.rs"),
    ("revokeSession", "auth.rs"),
    ("updateProfile", "auth.rs"),
    ("requestEmailVerification", "security.rs"),
    ("verifyEmail", "security.rs"),
    ("enableTotp", "security.rs"),
    ("confirmTotp", "security.rs"),
    ("changePassword", "security.rs"),
    (
        "requestPasswordReset",
        "mail.rs (anyone; always true, mails only a known address)",
    ),
    (
        "resetPassword",
        "mail.rs (whoever holds the mailed token, once)",
    ),
    (
        "changeEmail",
        "account_changes.rs (signed-in, own account, with its password)",
    ),
    (
        "confirmEmailChange",
        "account_changes.rs (whoever holds the token mailed to the new address, once)",
    ),
    (
        "changeUsername",
        "account_changes.rs (signed-in, own account)",
    ),
    (
        "oidcProviders",
        "oidc.rs (anyone: a sign-in page lists them)",
    ),
    (
        "startOidcLogin",
        "oidc.rs (anyone; signed in, the state is bound to the caller for a link)",
    ),
    (
        "completeOidcLogin",
        "oidc.rs (whoever holds an unused state and its code, once; rate limited)",
    ),
    (
        "linkOidcAccount",
        "oidc.rs (signed-in, with a state the caller started; CONFLICT for another's identity)",
    ),
    (
        "deleteAccount",
        "deletion.rs (signed-in, own account, with its password)",
    ),
    (
        "exportMyData",
        "export.rs (signed-in, own data only; the blob is readable by its owner only)",
    ),
    ("createRoom", "rooms.rs"),
    ("openDirectRoom", "contacts.rs (blocks), rooms.rs"),
    ("joinRoom", "rooms.rs"),
    ("requestContact", "contacts.rs"),
    ("acceptContact", "contacts.rs"),
    ("declineContact", "contacts.rs"),
    ("blockUser", "contacts.rs"),
    ("markNotificationsRead", "realtime.rs"),
    ("publishKeyPackages", "mls.rs"),
    ("claimKeyPackage", "mls.rs"),
    (
        "uploadBlob",
        "blobs.rs, uploads.rs, mls_reads.rs (roomId: active members only)",
    ),
    ("myUploads", "uploads.rs (the caller's own uploads only)"),
    ("deleteUpload", "uploads.rs (the caller's own uploads only)"),
    ("iceServers", "ice.rs (signed-in users only)"),
    ("joinCall", "calls.rs (room members only)"),
    ("leaveCall", "calls.rs (own sessions only)"),
    ("callHeartbeat", "calls.rs (own sessions only)"),
    ("updateCallState", "calls.rs (own sessions only)"),
    (
        "sendSignal",
        "call_events.rs (from own live session, to the same call)",
    ),
    (
        "roomByCode",
        "call_history.rs (signed-in users; a preview of any live group room, unknown codes rate limited)",
    ),
];

/// What a call answers: data (`Ok`), null data (`Null`), or an error code.
fn outcome(body: &Value, field: &str) -> String {
    match body["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => code.to_owned(),
        None if body["data"][field].is_null() => "NULL".to_owned(),
        None => "OK".to_owned(),
    }
}

async fn room_operations_by_role(app: &TestApp) {
    let (owner, _) = app.register("owner").await;
    let (admin, admin_id) = app.register("admin").await;
    let (member, member_id) = app.register("member").await;
    let (former, former_id) = app.register("former").await;
    let (stranger, _) = app.register("stranger").await;
    let (blocked, blocked_id) = app.register("blocked").await;
    let (deleted, deleted_id) = app.register("deleted").await;
    let (_, extra_id) = app.register("extra").await;
    let (_, extra_admin_id) = app.register("extraadmin").await;
    let room = app
        .create_room(
            &owner,
            "r",
            &[&admin_id, &member_id, &former_id, &deleted_id],
        )
        .await;
    app.ok(
        Some(&owner),
        "mutation($u: UUID!) { blockUser(userId: $u) { status } }",
        json!({ "u": blocked_id }),
    )
    .await;
    {
        use sea_orm::ConnectionTrait;
        app.db
            .execute_unprepared(
                "UPDATE users SET deleted_at = created_at WHERE username = 'deleted'",
            )
            .await
            .unwrap();
        app.forget_signed_in();
    }
    app.ok(
        Some(&owner),
        "mutation($r: UUID!, $u: UUID!) { setMemberRole(roomId: $r, userId: $u, role: ADMIN) { role } }",
        json!({ "r": room, "u": admin_id }),
    )
    .await;
    app.ok(
        Some(&former),
        "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
        json!({ "r": room }),
    )
    .await;
    let owners_message = app.send(&owner, &room, "by owner").await;
    let members_message = app.send(&member, &room, "by member").await;
    let token = |caller: Caller| match caller {
        Owner => Some(owner.as_str()),
        Admin => Some(admin.as_str()),
        Member => Some(member.as_str()),
        Former => Some(former.as_str()),
        Blocked => Some(blocked.as_str()),
        Stranger => Some(stranger.as_str()),
        Anonymous => None,
        Deleted => Some(deleted.as_str()),
    };

    // (operation, root field, variables, expected outcome per caller in ALL order).
    // Ordered so that no row changes what a later row sees (deletes and leaving come last).
    let table: Vec<(&str, &str, Value, [&str; 8])> = vec![
        (
            "query($r: UUID!) { room(id: $r) { id } }",
            "room",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NULL",
                "NULL",
                "NULL",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!) { room(id: $r) { messages(last: 5) { edges { node { id } } } } }",
            "room",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NULL",
                "NULL",
                "NULL",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($m: UUID!) { message(id: $m) { id } }",
            "message",
            json!({ "m": owners_message }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!) { room(id: $r) { messageCount messages(since: \"2000-01-01T00:00:00Z\") { edges { node { id } } } blobs { edges { cursor } } } }",
            "room",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NULL",
                "NULL",
                "NULL",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!) { sendMessage(input: { roomId: $r, body: \"hi\" }) { id } }",
            "sendMessage",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($m: UUID!) { editMessage(id: $m, body: \"edited\") { id } }",
            "editMessage",
            json!({ "m": owners_message }),
            [
                "OK",
                "FORBIDDEN",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($m: UUID!) { react(messageId: $m, emoji: \"👍\") { id } }",
            "react",
            json!({ "m": owners_message }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($m: UUID!) { unreact(messageId: $m, emoji: \"👍\") { id } }",
            "unreact",
            json!({ "m": owners_message }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!, $m: UUID!) { markRead(roomId: $r, messageId: $m) { role } }",
            "markRead",
            json!({ "r": room, "m": owners_message }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!, $m: UUID!) { markDelivered(roomId: $r, messageId: $m) { role } }",
            "markDelivered",
            json!({ "r": room, "m": owners_message }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($u: UUID!) { notifyUser(userId: $u, title: \"t\") { id } }",
            "notifyUser",
            json!({ "u": extra_id }),
            [
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($ids: [UUID!]!) { deleteNotifications(ids: $ids) }",
            "deleteNotifications",
            json!({ "ids": [owners_message] }),
            [
                "OK",
                "OK",
                "OK",
                "OK",
                "OK",
                "OK",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!) { setTyping(roomId: $r, typing: true) }",
            "setTyping",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!) { sendCiphertext(input: { roomId: $r, kind: APP, ciphertext: \"AAEC\", epoch: 0 }) { id } }",
            "sendCiphertext",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!) { logConnectionEvent(input: { roomId: $r, event: CONNECTED }) }",
            "logConnectionEvent",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!) { connectionEvents(roomId: $r) { edges { cursor } } }",
            "connectionEvents",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "OK",
                "OK",
                "OK",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!, $u: UUID!) { connectionEvents(roomId: $r, userId: $u) { edges { cursor } } }",
            "connectionEvents",
            json!({ "r": room, "u": member_id }),
            [
                "OK",
                "OK",
                "OK",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!) { room(id: $r) { memberHistory { edges { cursor } } } }",
            "room",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "FORBIDDEN",
                "NULL",
                "NULL",
                "NULL",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!) { connectionStats(roomId: $r) { total } }",
            "connectionStats",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "query($r: UUID!) { searchMessages(query: \"owner\", roomId: $r) { edges { node { id } } } }",
            "searchMessages",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!) { updateRoom(input: { roomId: $r, topic: \"t\" }) { id } }",
            "updateRoom",
            json!({ "r": room }),
            [
                "OK",
                "OK",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!, $u: UUID!) { addMember(roomId: $r, userId: $u) { role } }",
            "addMember",
            json!({ "r": room, "u": extra_id }),
            [
                "OK",
                "OK",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!, $u: UUID!) { addMember(roomId: $r, userId: $u, role: ADMIN) { role } }",
            "addMember",
            json!({ "r": room, "u": extra_admin_id }),
            [
                "OK",
                "FORBIDDEN",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!, $u: UUID!) { setMemberRole(roomId: $r, userId: $u, role: MEMBER) { role } }",
            "setMemberRole",
            json!({ "r": room, "u": extra_id }),
            [
                "OK",
                "OK",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($m: UUID!) { deleteMessage(id: $m) { id } }",
            "deleteMessage",
            json!({ "m": owners_message }),
            [
                "OK",
                "OK",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($m: UUID!) { deleteMessage(id: $m) { id } }",
            "deleteMessage",
            json!({ "m": members_message }),
            [
                "OK",
                "OK",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        // The owner removes the admin first; from then on the admin is a stranger.
        (
            "mutation($r: UUID!, $u: UUID!) { removeMember(roomId: $r, userId: $u) }",
            "removeMember",
            json!({ "r": room, "u": admin_id }),
            [
                "OK",
                "NOT_FOUND",
                "FORBIDDEN",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        (
            "mutation($r: UUID!) { leaveRoom(roomId: $r) }",
            "leaveRoom",
            json!({ "r": room }),
            [
                "FORBIDDEN",
                "NOT_FOUND",
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
        // Last: the owner deletes the room, and from then on it is nobody's (a member who
        // does not own it is FORBIDDEN: deletion.rs).
        (
            "mutation($r: UUID!) { deleteRoom(roomId: $r) }",
            "deleteRoom",
            json!({ "r": room }),
            [
                "OK",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "NOT_FOUND",
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (query, field, vars, expected) in &table {
        for (caller, want) in ALL.iter().zip(expected) {
            let body = app.gql(token(*caller), query, vars.clone()).await;
            let got = outcome(&body, field);
            if got != *want {
                failures.push(format!(
                    "{field} as {caller:?}: want {want}, got {got}: {body}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every operation of the schema is in the table or exempted by name.
    let covered: std::collections::HashSet<&str> = table
        .iter()
        .map(|row| row.1)
        .chain(EXEMPT.iter().map(|(name, _)| *name))
        .collect();
    let roots = app
        .ok(
            None,
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut uncovered = Vec::new();
    for root in ["queryType", "mutationType"] {
        for field in roots["__schema"][root]["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap();
            if !covered.contains(name) {
                uncovered.push(name.to_owned());
            }
        }
    }
    assert!(
        uncovered.is_empty(),
        "operations without an authorization row or exemption: {uncovered:?}"
    );
}
