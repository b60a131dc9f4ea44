//! `confab seed --demo` (and `serve --demo` on its first start): a few users, rooms and a few
//! thousand messages, so GraphiQL and the example client show something real. Every demo user
//! signs in with the password [`DEMO_PASSWORD`].

use chrono::Duration;
use entity::{messages, room_members, rooms, users};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::auth;
use crate::service::membership::Role;
use crate::service::membership::direct_key;
use crate::store::kinds::{MessageKind, RoomKind, UserRole};

pub const DEMO_PASSWORD: &str = "confab-demo";
const DEMO_USERS: [(&str, &str); 5] = [
    ("ann", "Ann Archer"),
    ("bob", "Bob Baker"),
    ("cat", "Cat Carter"),
    ("dan", "Dan Dunn"),
    ("eve", "Eve Evans"),
];
const MESSAGES_PER_ROOM: usize = 1_000;
const LINES: [&str; 8] = [
    "Morning all! Coffee's on.",
    "Did anyone look at the release checklist?",
    "Pushed a fix for the flaky test, please review.",
    "Lunch at noon? The new place on 5th.",
    "I'll take the on-call shift this weekend.",
    "Can we move the standup to 10:15?",
    "Great demo yesterday, well done 🎉",
    "Reading the design doc now, comments by EOD.",
];

/// Seeds the demo data once; a second run changes nothing. Processes starting together on
/// an empty database race to seed it: the data goes in one transaction, so one wins, and the
/// others' transactions fail on the demo users' unique names and find the data there.
pub async fn demo(db: &DatabaseConnection) -> anyhow::Result<String> {
    if demo_present(db).await? {
        return Ok("demo data already present".to_owned());
    }
    match seed_demo(db).await {
        Ok(report) => Ok(report),
        Err(_) if demo_present(db).await? => {
            Ok("demo data already present (seeded by another process)".to_owned())
        }
        Err(err) => Err(err),
    }
}

async fn demo_present(db: &DatabaseConnection) -> anyhow::Result<bool> {
    Ok(users::Entity::find()
        .filter(users::Column::Username.eq(DEMO_USERS[0].0))
        .one(db)
        .await?
        .is_some())
}

async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<String> {
    let hash = auth::hash_password(DEMO_PASSWORD.to_owned())
        .await
        .map_err(|err| anyhow::anyhow!("hashing the demo password: {err:?}"))?;
    let now = crate::db::now();
    let start = now - Duration::days(7);
    let txn = db.begin().await?;

    let users: Vec<users::ActiveModel> = DEMO_USERS
        .iter()
        .map(|(name, display)| users::ActiveModel {
            id: Set(Uuid::now_v7()),
            username: Set((*name).to_owned()),
            email: Set(format!("{name}@demo.confab.dev")),
            display_name: Set((*display).to_owned()),
            password_hash: Set(hash.clone()),
            role: Set(if *name == "ann" {
                UserRole::Admin
            } else {
                UserRole::User
            }
            .as_str()
            .to_owned()),
            // The status they chose: shown while they are connected (OFFLINE otherwise).
            // `offline` would make them invisible, as if never signed in.
            status: Set("online".to_owned()),
            created_at: Set(start),
            updated_at: Set(start),
            ..Default::default()
        })
        .collect();
    let ids: Vec<Uuid> = users.iter().filter_map(|u| u.id.clone().take()).collect();
    users::Entity::insert_many(users).exec(&txn).await?;

    let rooms = [
        ("general", None, ids.clone()),
        ("random", None, ids[..3].to_vec()),
        ("design", None, vec![ids[0], ids[2], ids[4]]),
        ("", Some(direct_key(ids[0], ids[1])), vec![ids[0], ids[1]]),
    ];
    let mut message_count = 0;
    for (index, (name, direct, members)) in rooms.into_iter().enumerate() {
        let room_id = Uuid::now_v7();
        let created = start + Duration::minutes(index as i64);
        rooms::Entity::insert(rooms::ActiveModel {
            id: Set(room_id),
            kind: Set(if direct.is_some() {
                RoomKind::Direct
            } else {
                RoomKind::Group
            }
            .as_str()
            .to_owned()),
            name: Set((!name.is_empty()).then(|| name.to_owned())),
            topic: Set((!name.is_empty()).then(|| format!("All things {name}"))),
            created_by: Set(ids[0]),
            epoch: Set(0),
            direct_key: Set(direct),
            created_at: Set(created),
            updated_at: Set(created),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        room_members::Entity::insert_many(members.iter().enumerate().map(|(i, user)| {
            room_members::ActiveModel {
                room_id: Set(room_id),
                user_id: Set(*user),
                role: Set(if i == 0 { Role::Owner } else { Role::Member }
                    .as_str()
                    .to_owned()),
                joined_at: Set(created),
                ..Default::default()
            }
        }))
        .exec(&txn)
        .await?;
        // Their stints, as a join writes them (`Room.memberHistory`).
        crate::store::stint::open(&txn, room_id, &members, created).await?;
        let step = (now - created).num_seconds() / MESSAGES_PER_ROOM as i64;
        let batch: Vec<messages::ActiveModel> = (0..MESSAGES_PER_ROOM)
            .map(|i| {
                let at = created + Duration::seconds(step * i as i64 + 1);
                messages::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    room_id: Set(room_id),
                    sender_id: Set(Some(members[i % members.len()])),
                    kind: Set(MessageKind::Text.as_str().to_owned()),
                    body: Set(Some(format!("{} (#{i})", LINES[i % LINES.len()]))),
                    created_at: Set(at),
                    seq: Set(i as i64 + 1),
                    ..Default::default()
                }
            })
            .collect();
        for chunk in batch.chunks(500) {
            messages::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        message_count += MESSAGES_PER_ROOM;
    }
    crate::store::seq::recount(&txn).await?;
    txn.commit().await?;
    Ok(format!(
        "seeded {} users (password \"{DEMO_PASSWORD}\"), 4 rooms, {message_count} messages",
        DEMO_USERS.len()
    ))
}
