//! Rooms: create group rooms, open the one direct room of a pair, join by code, change
//! settings, and list the caller's rooms by latest activity.

use std::sync::LazyLock;

use entity::{room_members, rooms, users};
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Set,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::member::{self, Role};
use crate::service::notification;
use crate::service::page::{Key, Page, Slice};
use crate::service::rows::{self, Positional as _};
use crate::service::{now, sql, write_txn};
use crate::state::AppState;

pub const NAME_MAX: usize = 100;
pub const TOPIC_MAX: usize = 1_000;
pub const MEMBERS_LIMIT: i32 = 10_000;
/// Join codes avoid look-alikes (0/O, 1/I/L) so they survive being read aloud.
pub const JOIN_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const JOIN_CODE_LEN: usize = 6;
const JOIN_CODE_ATTEMPTS: usize = 8;

pub struct CreateRoom {
    pub name: String,
    pub topic: Option<String>,
    pub member_ids: Vec<Uuid>,
    pub max_members: Option<i32>,
    pub with_join_code: bool,
}

#[derive(Default)]
pub struct UpdateRoom {
    pub name: Option<String>,
    /// `Some(None)` clears the topic.
    pub topic: Option<Option<String>>,
    /// `Some(None)` removes the cap.
    pub max_members: Option<Option<i32>>,
    pub archived: Option<bool>,
    /// `Some(true)` issues a fresh join code, `Some(false)` removes it.
    pub with_join_code: Option<bool>,
}

/// A live room the caller is an active member of, with that membership; NOT_FOUND otherwise,
/// so a stranger cannot tell a private room from no room.
pub async fn require_member(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    room_id: Uuid,
) -> ApiResult<(rooms::Model, room_members::Model)> {
    // Every room-scoped query and mutation starts here: one statement, read by position.
    static QUERY: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {} FROM rooms r JOIN room_members m ON m.room_id = r.id \
             WHERE r.id = ? AND r.deleted_at IS NULL AND m.user_id = ? AND m.left_at IS NULL",
            rows::columns::<rooms::Model>("r"),
            rows::columns::<room_members::Model>("m"),
        )
    });
    let values = vec![room_id.into(), viewer.id().into()];
    let found = rows::fetch(db, &QUERY, values, |row| {
        Ok((
            rooms::Model::read(row, 0)?,
            room_members::Model::read(row, rooms::Model::COLUMNS)?,
        ))
    })
    .await?;
    found.into_iter().next().ok_or_else(not_found)
}

pub fn not_found() -> ApiError {
    ApiError::NotFound("room not found".to_owned())
}

/// A room the caller may see, or None.
pub async fn visible(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
) -> ApiResult<Option<rooms::Model>> {
    match require_member(&state.db, viewer, room_id).await {
        Ok((room, _)) => Ok(Some(room)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Creates a group room: the caller becomes its owner, `member_ids` its members.
pub async fn create(
    state: &AppState,
    viewer: &Viewer,
    input: CreateRoom,
) -> ApiResult<rooms::Model> {
    let name = room_name(&input.name)?;
    let topic = input.topic.as_deref().map(topic).transpose()?;
    let max_members = input.max_members.map(max_members).transpose()?;
    let mut member_ids: Vec<Uuid> = input
        .member_ids
        .into_iter()
        .filter(|id| *id != viewer.id())
        .collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    if let Some(max) = max_members
        && member_ids.len() + 1 > max as usize
    {
        return Err(ApiError::bad_input(
            "memberIds",
            "more members than maxMembers allows",
        ));
    }
    if member_ids.len() > MEMBERS_LIMIT as usize {
        return Err(ApiError::bad_input("memberIds", "too many members"));
    }
    let found = users::Entity::find()
        .filter(users::Column::Id.is_in(member_ids.clone()))
        .filter(users::Column::DeletedAt.is_null())
        .all(&state.db)
        .await?;
    if found.len() != member_ids.len() {
        return Err(ApiError::bad_input(
            "memberIds",
            "unknown user in memberIds",
        ));
    }

    let at = now();
    let txn = write_txn(state).await?;
    let mut room = None;
    for _ in 0..JOIN_CODE_ATTEMPTS {
        let model = rooms::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set("group".to_owned()),
            name: Set(Some(name.clone())),
            topic: Set(topic.clone()),
            join_code: Set(input.with_join_code.then(new_join_code)),
            max_members: Set(max_members),
            created_by: Set(viewer.id()),
            epoch: Set(0),
            direct_key: Set(None),
            archived_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
        };
        match rooms::Entity::insert(model)
            .exec_with_returning(&*txn)
            .await
        {
            Ok(inserted) => {
                room = Some(inserted);
                break;
            }
            // Only a join code can collide; draw another.
            Err(err) if input.with_join_code && is_unique_violation(&err) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    let room =
        room.ok_or_else(|| ApiError::Conflict("could not draw a free join code".to_owned()))?;
    let members = std::iter::once((viewer.id(), Role::Owner))
        .chain(member_ids.iter().map(|id| (*id, Role::Member)))
        .map(|(user_id, role)| room_members::ActiveModel {
            room_id: Set(room.id),
            user_id: Set(user_id),
            role: Set(role.as_str().to_owned()),
            joined_at: Set(at),
            ..Default::default()
        });
    room_members::Entity::insert_many(members)
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    announce(state, viewer, &room, &member_ids).await;
    Ok(room)
}

/// Tells users they were put in a new room: a RoomAdded event and a notification each.
async fn announce(state: &AppState, viewer: &Viewer, room: &rooms::Model, user_ids: &[Uuid]) {
    state.publish(
        Topic::User(viewer.id()),
        Event::RoomAdded { room: room.clone() },
    );
    for user_id in user_ids {
        state.publish(
            Topic::User(*user_id),
            Event::RoomAdded { room: room.clone() },
        );
    }
    let title = match &room.name {
        Some(name) => format!("{} added you to {name}", viewer.user.display_name),
        None => format!(
            "{} started a conversation with you",
            viewer.user.display_name
        ),
    };
    notification::notify(
        state,
        user_ids
            .iter()
            .map(|user_id| notification::New {
                user_id: *user_id,
                kind: "room_added",
                title: title.clone(),
                body: None,
                data: serde_json::json!({ "roomId": room.id, "addedBy": viewer.id() }),
            })
            .collect(),
    )
    .await;
}

/// The direct room of the caller and `other`, created on first use. Concurrent calls for the
/// same pair meet on the unique `direct_key`: one insert wins, the others read its room.
pub async fn open_direct(
    state: &AppState,
    viewer: &Viewer,
    other: Uuid,
) -> ApiResult<rooms::Model> {
    if other == viewer.id() {
        return Err(ApiError::bad_input(
            "userId",
            "a direct room needs another user",
        ));
    }
    crate::service::user::by_id(state, other)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".to_owned()))?;
    if crate::service::contact::blocked_between(&state.db, viewer.id(), other).await? {
        return Err(ApiError::Forbidden(
            "you cannot message this user".to_owned(),
        ));
    }
    let key = direct_key(viewer.id(), other);
    for _ in 0..3 {
        if let Some(room) = rooms::Entity::find()
            .filter(rooms::Column::DirectKey.eq(key.clone()))
            .one(&state.db)
            .await?
        {
            // Reopening a direct room one had left brings one back into it.
            member::rejoin_direct(state, &room, viewer.id()).await?;
            return Ok(room);
        }
        match insert_direct(state, viewer.id(), other, &key).await {
            Ok(room) => {
                announce(state, viewer, &room, &[other]).await;
                return Ok(room);
            }
            Err(ApiError::Conflict(_)) => continue,
            Err(err) => return Err(err),
        }
    }
    Err(ApiError::Conflict(
        "direct room is being created, try again".to_owned(),
    ))
}

async fn insert_direct(state: &AppState, a: Uuid, b: Uuid, key: &str) -> ApiResult<rooms::Model> {
    let at = now();
    let txn = write_txn(state).await?;
    let room = rooms::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set("direct".to_owned()),
        name: Set(None),
        topic: Set(None),
        join_code: Set(None),
        max_members: Set(Some(2)),
        created_by: Set(a),
        epoch: Set(0),
        direct_key: Set(Some(key.to_owned())),
        archived_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    };
    let room = rooms::Entity::insert(room)
        .exec_with_returning(&*txn)
        .await?;
    room_members::Entity::insert_many([a, b].map(|user_id| room_members::ActiveModel {
        room_id: Set(room.id),
        user_id: Set(user_id),
        role: Set(Role::Owner.as_str().to_owned()),
        joined_at: Set(at),
        ..Default::default()
    }))
    .exec(&*txn)
    .await?;
    txn.commit().await?;
    Ok(room)
}

/// Joins the group room with this code (case-insensitive), within its member cap.
pub async fn join_by_code(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
) -> ApiResult<rooms::Model> {
    let code = join_code(code)?;
    let room = rooms::Entity::find()
        .filter(rooms::Column::JoinCode.eq(code))
        .filter(rooms::Column::DeletedAt.is_null())
        .filter(rooms::Column::ArchivedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("no room has that join code".to_owned()))?;
    member::admit(state, &room, viewer.id()).await?;
    Ok(room)
}

/// Changes a room's settings; owners and admins only.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    input: UpdateRoom,
) -> ApiResult<rooms::Model> {
    let (room, membership) = require_member(&state.db, viewer, room_id).await?;
    Role::parse(&membership.role).require_manager()?;
    if room.kind == "direct"
        && (input.name.is_some() || input.max_members.is_some() || input.with_join_code.is_some())
    {
        return Err(ApiError::bad_input(
            "roomId",
            "a direct room has no name, cap or join code",
        ));
    }
    let mut active: rooms::ActiveModel = room.clone().into();
    if let Some(name) = input.name {
        active.name = Set(Some(room_name(&name)?));
    }
    if let Some(new_topic) = input.topic {
        active.topic = Set(new_topic.as_deref().map(topic).transpose()?);
    }
    if let Some(cap) = input.max_members {
        let cap = cap.map(max_members).transpose()?;
        if let Some(cap) = cap {
            let active_members = member::active_count(&state.db, room.id).await?;
            if (cap as u64) < active_members {
                return Err(ApiError::bad_input(
                    "maxMembers",
                    "the room already has more members",
                ));
            }
        }
        active.max_members = Set(cap);
    }
    if let Some(archived) = input.archived {
        active.archived_at = Set(match (archived, room.archived_at) {
            (true, Some(at)) => Some(at),
            (true, None) => Some(now()),
            (false, _) => None,
        });
    }
    active.updated_at = Set(now());
    match input.with_join_code {
        Some(false) => active.join_code = Set(None),
        Some(true) => {
            for _ in 0..JOIN_CODE_ATTEMPTS {
                active.join_code = Set(Some(new_join_code()));
                let written = active.clone().update(&*super::writer(state).await).await;
                match written {
                    Ok(updated) => return Ok(updated),
                    Err(err) if is_unique_violation(&err) => continue,
                    Err(err) => return Err(err.into()),
                }
            }
            return Err(ApiError::Conflict(
                "could not draw a free join code".to_owned(),
            ));
        }
        None => {}
    }
    Ok(active.update(&*super::writer(state).await).await?)
}

#[derive(Debug, FromQueryResult)]
struct RoomRow {
    id: Uuid,
    activity_at: chrono::DateTime<chrono::FixedOffset>,
}

/// Rooms `member_id` belongs to that the caller also belongs to (all the caller's rooms when
/// `member_id` is the caller), latest activity (last message, else creation) first. Keyed on
/// `(activity, id)`; "after" walks toward older activity.
pub async fn shared_with(
    state: &AppState,
    viewer: &Viewer,
    member_id: Uuid,
    page: Page,
) -> ApiResult<Slice<(rooms::Model, Key)>> {
    let backend = state.db.get_database_backend();
    let (cursor, limit, newest_first) = match page {
        Page::Forward { after, limit } => (after, limit, true),
        Page::Backward { before, limit } => (before, limit, false),
    };
    let mut values = vec![member_id.into(), viewer.id().into()];
    let mut filter = String::new();
    if let Some(key) = cursor {
        let op = if newest_first { "<" } else { ">" };
        filter = format!("WHERE (activity_at {op} ? OR (activity_at = ? AND id {op} ?))");
        values.extend([key.at.into(), key.at.into(), key.id.into()]);
    }
    let order = if newest_first { "DESC" } else { "ASC" };
    values.push(((limit + 1) as i64).into());
    let query = format!(
        "SELECT id, activity_at FROM ( \
           SELECT r.id, COALESCE((SELECT MAX(m.created_at) FROM messages m WHERE m.room_id = r.id), r.created_at) AS activity_at \
           FROM rooms r \
           JOIN room_members rm ON rm.room_id = r.id AND rm.user_id = ? AND rm.left_at IS NULL \
           JOIN room_members rv ON rv.room_id = r.id AND rv.user_id = ? AND rv.left_at IS NULL \
           WHERE r.deleted_at IS NULL \
         ) t {filter} ORDER BY activity_at {order}, id {order} LIMIT ?"
    );
    let rows = RoomRow::find_by_statement(sql::stmt(backend, &query, values))
        .all(&state.db)
        .await?;
    let rooms = rooms::Entity::find()
        .filter(rooms::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .all(&state.db)
        .await?;
    let mut by_id: std::collections::HashMap<Uuid, rooms::Model> =
        rooms.into_iter().map(|r| (r.id, r)).collect();
    let items: Vec<(rooms::Model, Key)> = rows
        .into_iter()
        .filter_map(|row| {
            let room = by_id.remove(&row.id)?;
            Some((
                room,
                Key {
                    at: row.activity_at,
                    id: row.id,
                },
            ))
        })
        .collect();
    Ok(Slice::from_probe(page, items))
}

/// Rooms by id.
pub async fn many(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<Vec<rooms::Model>, sea_orm::DbErr> {
    rooms::Entity::find()
        .filter(rooms::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// The `rooms.direct_key` of a pair: both ids, sorted, so each pair has one direct room.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

/// The other person of a direct room.
pub fn direct_peer(room: &rooms::Model, me: Uuid) -> Option<Uuid> {
    let (a, b) = room.direct_key.as_deref()?.split_once(':')?;
    let (a, b) = (Uuid::parse_str(a).ok()?, Uuid::parse_str(b).ok()?);
    Some(if a == me { b } else { a })
}

/// A join code as typed by a person: trimmed, any case; BAD_USER_INPUT unless it is six
/// characters of the join-code alphabet.
pub fn join_code(raw: &str) -> ApiResult<String> {
    let code = raw.trim().to_uppercase();
    if code.len() != JOIN_CODE_LEN || !code.bytes().all(|b| JOIN_CODE_ALPHABET.contains(&b)) {
        return Err(ApiError::bad_input(
            "code",
            "a join code is 6 letters and digits",
        ));
    }
    Ok(code)
}

pub fn new_join_code() -> String {
    let mut rng = rand::rng();
    (0..JOIN_CODE_LEN)
        .map(|_| JOIN_CODE_ALPHABET[rng.random_range(0..JOIN_CODE_ALPHABET.len())] as char)
        .collect()
}

fn room_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ApiError::bad_input(
            "name",
            "a room name is 1 to 100 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            "name",
            "a room name may not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

fn topic(raw: &str) -> ApiResult<String> {
    let topic = raw.trim();
    if topic.chars().count() > TOPIC_MAX {
        return Err(ApiError::bad_input(
            "topic",
            "a topic is at most 1,000 characters",
        ));
    }
    Ok(topic.to_owned())
}

fn max_members(n: i32) -> ApiResult<i32> {
    if (2..=MEMBERS_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::bad_input(
            "maxMembers",
            "maxMembers is between 2 and 10,000",
        ))
    }
}

pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_codes_use_the_unambiguous_alphabet() {
        for _ in 0..100 {
            let code = new_join_code();
            assert_eq!(code.len(), JOIN_CODE_LEN);
            assert!(
                code.bytes().all(|b| JOIN_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
        }
        for ambiguous in [b'0', b'O', b'1', b'I', b'L'] {
            assert!(!JOIN_CODE_ALPHABET.contains(&ambiguous));
        }
    }

    #[test]
    fn join_codes_as_typed() {
        assert_eq!(join_code(" abc234 ").ok().as_deref(), Some("ABC234"));
        for bad in [
            "", "ABC23", "ABC2345", "ABC-23", "O0O0O0", "ÄBC234", "abc 23",
        ] {
            assert!(join_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn direct_key_is_order_free() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(direct_key(a, b), direct_key(b, a));
    }
}
