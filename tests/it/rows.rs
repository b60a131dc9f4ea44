//! The hot loaders read rows by column position (`confab::store::rows`): on rows with every
//! column set, each must give exactly what sea-orm's own reader gives, through sqlx and, on
//! SQLite, through the readers that decode on their own threads (`confab::db::direct`).

use chrono::Duration;
use confab::db::direct::{Readers, Reads, Source};
use confab::store::page::Page;
use entity::{blobs, message_reactions, messages, room_members, rooms, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::on_both_backends;
use crate::util::TestApp;

on_both_backends!(positional_readers_match_sea_orm);

fn at(minutes: i64) -> chrono::DateTime<chrono::FixedOffset> {
    confab::db::now() - Duration::minutes(minutes)
}

async fn positional_readers_match_sea_orm(app: &TestApp) {
    let db = &app.db;
    let (ann, ann_id) = app.register("ann").await;
    let (_, bob_id) = app.register("bob").await;
    let room = app.create_room(&ann, "r", &[&bob_id]).await;
    let first = app.send(&ann, &room, "first").await;
    let second = app.send(&ann, &room, "second").await;
    let react = "mutation($m: UUID!, $e: String!) { react(messageId: $m, emoji: $e) { id } }";
    app.ok(Some(&ann), react, json!({ "m": first, "e": "👍" }))
        .await;
    app.ok(Some(&ann), react, json!({ "m": first, "e": "🎉" }))
        .await;
    let open = "mutation($u: UUID!) { openDirectRoom(userId: $u) { id } }";
    let direct = app.ok(Some(&ann), open, json!({ "u": bob_id })).await["openDirectRoom"]["id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();

    // Every nullable column gets a value, each a different one.
    blobs::ActiveModel {
        id: Set("ab".repeat(32)),
        size: Set(3),
        mime_type: Set("image/png".into()),
        uploader_id: Set(None),
        created_at: Set(at(9)),
    }
    .insert(db)
    .await
    .unwrap();
    let ann_uuid: Uuid = ann_id.parse().unwrap();
    let mut user = users::Entity::find_by_id(ann_uuid)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    user.display_name = Set("Ann A.".into());
    user.last_seen_at = Set(Some(at(1)));
    user.email_verified_at = Set(Some(at(2)));
    user.totp_secret = Set(Some("totp-secret".into()));
    user.totp_enabled_at = Set(Some(at(3)));
    user.avatar_blob_id = Set(Some("ab".repeat(32)));
    user.deleted_at = Set(Some(at(4)));
    user.update(db).await.unwrap();
    let mut message = messages::Entity::find_by_id(second.parse::<Uuid>().unwrap())
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    message.ciphertext = Set(Some(vec![1, 2, 3]));
    message.epoch = Set(Some(7));
    message.reply_to_id = Set(Some(first.parse().unwrap()));
    message.metadata = Set(Some(json!({ "k": [1, null, "v"] })));
    message.edited_at = Set(Some(at(5)));
    message.deleted_at = Set(Some(at(6)));
    message.reacted = Set(true);
    message.update(db).await.unwrap();
    let room_uuid: Uuid = room.parse().unwrap();
    let mut member = room_members::Entity::find_by_id((room_uuid, ann_uuid))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    member.last_delivered_message_id = Set(Some(second.parse().unwrap()));
    member.last_read_message_id = Set(Some(first.parse().unwrap()));
    member.muted_until = Set(Some(at(-60)));
    let member = member.update(db).await.unwrap();
    let mut group = rooms::Entity::find_by_id(room_uuid)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    group.topic = Set(Some("topic".into()));
    group.join_code = Set(Some("ABC234".into()));
    group.max_members = Set(Some(12));
    group.epoch = Set(3);
    group.archived_at = Set(Some(at(7)));
    let group = group.update(db).await.unwrap();

    let readers = Readers::for_pool(db, 2).map(|opened| opened.expect("SQLite readers"));
    // On SQLite the server reads through its readers (db::direct): they must be there, and
    // give exactly what sqlx and sea-orm give.
    assert_eq!(
        readers.is_some(),
        db.get_database_backend() == DbBackend::Sqlite
    );
    let reads = Reads {
        db,
        readers: readers.as_ref(),
        on_statement: None,
    };
    let ids = Ids {
        ann: ann_uuid,
        bob: bob_id.parse().unwrap(),
        room: room_uuid,
        direct,
        first: first.parse().unwrap(),
    };
    compare(db, db, &ids, &group, &member).await;
    let ran = || readers.as_ref().map(|r| r.statements());
    let before = ran();
    compare(db, &reads, &ids, &group, &member).await;
    // Every read of `compare` took the readers (none fell back to sqlx): users, two
    // memberships, members, a page and its senders, reactions.
    if let (Some(before), Some(after)) = (before, ran()) {
        assert_eq!(after - before, 7, "statements on the readers");
    }
}

struct Ids {
    ann: Uuid,
    bob: Uuid,
    room: Uuid,
    direct: Uuid,
    first: Uuid,
}

/// Each positional reader run on `source` against sea-orm's reader on `db`.
async fn compare(
    db: &DatabaseConnection,
    source: &impl Source,
    ids: &Ids,
    group: &rooms::Model,
    member: &room_members::Model,
) {
    let (ann_uuid, room_uuid, direct) = (ids.ann, ids.room, ids.direct);
    // Users.
    let user_ids = vec![ann_uuid, ids.bob];
    let mut positional = confab::store::user::many(source, user_ids.clone())
        .await
        .unwrap();
    let mut expected = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids))
        .all(db)
        .await
        .unwrap();
    positional.sort_by_key(|u| u.id);
    expected.sort_by_key(|u| u.id);
    assert_eq!(positional.len(), 2);
    assert_eq!(positional, expected);
    assert!(positional.iter().any(|u| u.avatar_blob_id.is_some()));

    // A room with the caller's membership.
    let ann_user = users::Entity::find_by_id(ann_uuid)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let viewer = confab::auth::Viewer {
        user: ann_user,
        session_id: Uuid::nil(),
    };
    let found = confab::service::membership::require_member(source, &viewer, room_uuid)
        .await
        .unwrap();
    assert_eq!(found, (group.clone(), member.clone()));
    // A direct room has the one column a group room cannot have (its pair's key).
    let (found, _) = confab::service::membership::require_member(source, &viewer, direct)
        .await
        .unwrap();
    let expected = rooms::Entity::find_by_id(direct)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(expected.direct_key.is_some());
    assert_eq!(found, expected);

    // Members with their users.
    let members = confab::store::member::active_in(source, vec![room_uuid])
        .await
        .unwrap();
    let expected = room_members::Entity::find()
        .find_also_related(users::Entity)
        .filter(room_members::Column::RoomId.eq(room_uuid))
        .all(db)
        .await
        .unwrap();
    assert_eq!(members.len(), 2);
    for member in &expected {
        assert!(members.contains(member), "{member:?} not in {members:?}");
    }
    assert!(members.iter().any(|(m, _)| m.muted_until.is_some()));

    // A page of messages with their senders.
    let pages = confab::store::message::pages(
        source,
        &[room_uuid],
        Page::Backward {
            before: None,
            limit: 10,
        },
        None,
    )
    .await
    .unwrap();
    let mut expected = messages::Entity::find()
        .find_also_related(users::Entity)
        .filter(messages::Column::RoomId.eq(room_uuid))
        .all(db)
        .await
        .unwrap();
    expected.sort_by_key(|(m, _)| (m.created_at, m.id));
    let read: Vec<_> = pages[&room_uuid]
        .items
        .iter()
        .map(|(m, sender)| (m.clone(), sender.as_deref().cloned()))
        .collect();
    assert_eq!(read, expected);
    // A sender is read once per page and shared by their messages.
    let mut first: std::collections::HashMap<Uuid, &std::sync::Arc<users::Model>> =
        std::collections::HashMap::new();
    let mut repeated = false;
    for sender in pages[&room_uuid]
        .items
        .iter()
        .filter_map(|(_, s)| s.as_ref())
    {
        match first.get(&sender.id) {
            Some(seen) => {
                assert!(
                    std::sync::Arc::ptr_eq(seen, sender),
                    "{} read twice",
                    sender.id
                );
                repeated = true;
            }
            None => {
                first.insert(sender.id, sender);
            }
        }
    }
    assert!(repeated, "the page has no sender twice");
    assert!(expected.iter().any(|(m, _)| m.ciphertext.is_some()));
    assert!(expected.iter().any(|(_, sender)| sender.is_some()));

    // Reactions with their users.
    let first_uuid = ids.first;
    let reactions = confab::store::message::reactions(source, &[first_uuid])
        .await
        .unwrap();
    let mut expected = message_reactions::Entity::find()
        .find_also_related(users::Entity)
        .filter(message_reactions::Column::MessageId.eq(first_uuid))
        .all(db)
        .await
        .unwrap();
    let mut got = reactions[&first_uuid].clone();
    got.sort_by(|a, b| a.0.emoji.cmp(&b.0.emoji));
    expected.sort_by(|a, b| a.0.emoji.cmp(&b.0.emoji));
    assert_eq!(got.len(), 2);
    assert_eq!(got, expected);
}
