//! Rooms: create group rooms, open the one direct room of a pair, join by code, change
//! settings. Listing the caller's rooms by latest activity is `store::room::shared_with`.

mod input;

pub use input::{
    JOIN_CODE_ALPHABET, JOIN_CODE_LEN, MEMBERS_LIMIT, NAME_MAX, TOPIC_MAX, join_code, new_join_code,
};

use entity::{room_members, rooms, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::membership::{self, Role, direct_key, require_member};
use crate::service::notification;
use crate::state::AppState;
use crate::store;
use crate::store::kinds::RoomKind;
use input::{max_members, room_name, topic};

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

/// A room the caller may see, or None.
pub async fn visible(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
) -> ApiResult<Option<rooms::Model>> {
    match require_member(&state.reads(), viewer, room_id).await {
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
    let txn = state.write_txn().await?;
    let mut room = None;
    for _ in 0..JOIN_CODE_ATTEMPTS {
        let model = rooms::ActiveModel {
            id: Set(Uuid::now_v7()),
            kind: Set(RoomKind::Group.as_str().to_owned()),
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
            Err(err) if input.with_join_code && store::is_unique_violation(&err) => continue,
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
    let joined: Vec<Uuid> = std::iter::once(viewer.id())
        .chain(member_ids.iter().copied())
        .collect();
    store::stint::open(&*txn, room.id, &joined, at).await?;
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
            membership::rejoin_direct(state, &room, viewer.id()).await?;
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
    let txn = state.write_txn().await?;
    let room = rooms::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(RoomKind::Direct.as_str().to_owned()),
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
    store::stint::open(&*txn, room.id, &[a, b], at).await?;
    txn.commit().await?;
    Ok(room)
}

/// Joins the group room with this code (case-insensitive), within its member cap.
pub async fn join_by_code(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
) -> ApiResult<rooms::Model> {
    check_code_misses(state, viewer).await?;
    let code = join_code(code)?;
    let Some(room) = rooms::Entity::find()
        .filter(rooms::Column::JoinCode.eq(code))
        .filter(rooms::Column::DeletedAt.is_null())
        .filter(rooms::Column::ArchivedAt.is_null())
        .one(&state.db)
        .await?
    else {
        count_code_miss(state, viewer).await;
        return Err(ApiError::NotFound("no room has that join code".to_owned()));
    };
    membership::admit(state, &room, viewer.id()).await?;
    Ok(room)
}

/// Codes that name no room one user may try per [`CODE_MISS_WINDOW`], at `joinRoom` and
/// `roomByCode` together; past that every code is refused (RATE_LIMITED) until the window
/// ends. Only misses count, so a client that joins or previews a known room again and again is
/// never held up. The code space (31^6, about 887 million) is out of reach of one account.
pub const CODE_MISSES_PER_MINUTE: u32 = 10;
const CODE_MISS_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

fn code_miss_key(viewer: &Viewer) -> String {
    format!("room-code-miss:{}", viewer.id())
}

/// RATE_LIMITED once the viewer missed [`CODE_MISSES_PER_MINUTE`] codes this minute.
pub async fn check_code_misses(state: &AppState, viewer: &Viewer) -> ApiResult<()> {
    state
        .limiter
        .check(
            &code_miss_key(viewer),
            CODE_MISSES_PER_MINUTE,
            CODE_MISS_WINDOW,
        )
        .await
}

/// Counts one code that named no room.
pub async fn count_code_miss(state: &AppState, viewer: &Viewer) {
    // Counting only: `check_code_misses` refuses once the window is full.
    let _ = state
        .limiter
        .hit(&code_miss_key(viewer), u32::MAX, CODE_MISS_WINDOW)
        .await;
}

/// Changes a room's settings; owners and admins only.
pub async fn update(
    state: &AppState,
    viewer: &Viewer,
    room_id: Uuid,
    input: UpdateRoom,
) -> ApiResult<rooms::Model> {
    let (room, membership) = require_member(&state.reads(), viewer, room_id).await?;
    Role::parse(&membership.role).require_manager()?;
    if room.kind == RoomKind::Direct
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
            let active_members = store::member::active_count(&state.db, room.id).await?;
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
                let written = active.clone().update(&*state.writer().await).await;
                match written {
                    Ok(updated) => return Ok(updated),
                    Err(err) if store::is_unique_violation(&err) => continue,
                    Err(err) => return Err(err.into()),
                }
            }
            return Err(ApiError::Conflict(
                "could not draw a free join code".to_owned(),
            ));
        }
        None => {}
    }
    Ok(active.update(&*state.writer().await).await?)
}
