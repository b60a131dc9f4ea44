//! Contacts: a request, accepted or declined, or a block. Each relationship is two rows, one
//! per direction, written together in one transaction so both sides always agree.
//! `requested_by` names who asked (pending, accepted) or who blocked (blocked).

use entity::contacts;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::realtime::{Event, Topic};
use crate::service::notification;
use crate::state::AppState;
use crate::store::page::{Page, Slice, keyset};

pub const PENDING: &str = "pending";
pub const ACCEPTED: &str = "accepted";
pub const BLOCKED: &str = "blocked";

/// The caller's side of a relationship with `other`, if any.
pub async fn get(
    db: &impl ConnectionTrait,
    me: Uuid,
    other: Uuid,
) -> ApiResult<Option<contacts::Model>> {
    Ok(contacts::Entity::find_by_id((me, other)).one(db).await?)
}

/// Whether either of the two has blocked the other.
pub async fn blocked_between(db: &impl ConnectionTrait, a: Uuid, b: Uuid) -> ApiResult<bool> {
    Ok(get(db, a, b).await?.is_some_and(|c| c.status == BLOCKED))
}

async fn target(state: &AppState, viewer: &Viewer, other: Uuid) -> ApiResult<()> {
    if other == viewer.id() {
        return Err(ApiError::bad_input("userId", "that is you"));
    }
    crate::service::user::by_id(state, other)
        .await?
        .ok_or_else(|| ApiError::NotFound("user not found".to_owned()))?;
    Ok(())
}

/// Writes both directions of a relationship.
async fn write_pair(
    db: &impl ConnectionTrait,
    a: Uuid,
    b: Uuid,
    status: &str,
    requested_by: Uuid,
) -> ApiResult<contacts::Model> {
    let at = now();
    let mut mine = None;
    for (user_id, contact_id) in [(a, b), (b, a)] {
        let existing = contacts::Entity::find_by_id((user_id, contact_id))
            .one(db)
            .await?;
        let row = match existing {
            Some(row) => {
                let mut active: contacts::ActiveModel = row.into();
                active.status = Set(status.to_owned());
                active.requested_by = Set(requested_by);
                active.updated_at = Set(at);
                active.update(db).await?
            }
            None => {
                contacts::ActiveModel {
                    user_id: Set(user_id),
                    contact_id: Set(contact_id),
                    status: Set(status.to_owned()),
                    requested_by: Set(requested_by),
                    created_at: Set(at),
                    updated_at: Set(at),
                }
                .insert(db)
                .await?
            }
        };
        if user_id == a {
            mine = Some(row);
        }
    }
    mine.ok_or_else(|| ApiError::internal(anyhow::anyhow!("contact pair not written")))
}

/// Asks `other` to become a contact. Asking someone who already asked you accepts.
pub async fn request(state: &AppState, viewer: &Viewer, other: Uuid) -> ApiResult<contacts::Model> {
    target(state, viewer, other).await?;
    let me = viewer.id();
    let txn = state.write_txn().await?;
    let result = match get(&*txn, me, other).await? {
        Some(c) if c.status == BLOCKED && c.requested_by == me => {
            return Err(ApiError::Conflict(
                "you blocked this user; unblock with declineContact first".to_owned(),
            ));
        }
        Some(c) if c.status == BLOCKED => {
            return Err(ApiError::Forbidden(
                "you cannot contact this user".to_owned(),
            ));
        }
        Some(c) if c.status == ACCEPTED || c.requested_by == me => c,
        Some(_) => write_pair(&*txn, me, other, ACCEPTED, other).await?,
        None => {
            let row = write_pair(&*txn, me, other, PENDING, me).await?;
            txn.commit().await?;
            state.publish(
                Topic::User(other),
                Event::ContactRequested { from_user_id: me },
            );
            notification::notify(
                state,
                vec![notification::New {
                    user_id: other,
                    kind: "contact_request",
                    title: format!("{} wants to add you as a contact", viewer.user.display_name),
                    body: None,
                    data: json!({ "userId": me }),
                }],
            )
            .await;
            return Ok(row);
        }
    };
    txn.commit().await?;
    Ok(result)
}

/// Accepts `other`'s pending request.
pub async fn accept(state: &AppState, viewer: &Viewer, other: Uuid) -> ApiResult<contacts::Model> {
    let me = viewer.id();
    let txn = state.write_txn().await?;
    let row = match get(&*txn, me, other).await? {
        Some(c) if c.status == ACCEPTED => c,
        Some(c) if c.status == PENDING && c.requested_by == other => {
            write_pair(&*txn, me, other, ACCEPTED, other).await?
        }
        _ => return Err(ApiError::NotFound("no request from that user".to_owned())),
    };
    txn.commit().await?;
    Ok(row)
}

/// Declines a request, withdraws one's own, removes a contact, or lifts one's own block.
pub async fn decline(state: &AppState, viewer: &Viewer, other: Uuid) -> ApiResult<bool> {
    let me = viewer.id();
    let txn = state.write_txn().await?;
    match get(&*txn, me, other).await? {
        Some(c) if c.status == BLOCKED && c.requested_by != me => {
            return Err(ApiError::NotFound("no contact with that user".to_owned()));
        }
        Some(_) => {
            contacts::Entity::delete_many()
                .filter(
                    sea_orm::Condition::any()
                        .add(
                            contacts::Column::UserId
                                .eq(me)
                                .and(contacts::Column::ContactId.eq(other)),
                        )
                        .add(
                            contacts::Column::UserId
                                .eq(other)
                                .and(contacts::Column::ContactId.eq(me)),
                        ),
                )
                .exec(&*txn)
                .await?;
        }
        None => return Err(ApiError::NotFound("no contact with that user".to_owned())),
    }
    txn.commit().await?;
    Ok(true)
}

/// Blocks `other`: no direct room with or message to the caller from them from now on.
pub async fn block(state: &AppState, viewer: &Viewer, other: Uuid) -> ApiResult<contacts::Model> {
    target(state, viewer, other).await?;
    let me = viewer.id();
    let txn = state.write_txn().await?;
    let row = match get(&*txn, me, other).await? {
        // Already blocked by them: keep their block in force, the caller sees it as blocked too.
        Some(c) if c.status == BLOCKED => c,
        _ => write_pair(&*txn, me, other, BLOCKED, me).await?,
    };
    txn.commit().await?;
    Ok(row)
}

/// The caller's contacts, oldest first; `BLOCKED` lists only those the caller blocked.
pub async fn list(
    state: &AppState,
    viewer: &Viewer,
    status: Option<&str>,
    page: Page,
) -> ApiResult<Slice<contacts::Model>> {
    let me = viewer.id();
    let mut query = contacts::Entity::find().filter(contacts::Column::UserId.eq(me));
    query = match status {
        Some(BLOCKED) => query
            .filter(contacts::Column::Status.eq(BLOCKED))
            .filter(contacts::Column::RequestedBy.eq(me)),
        Some(status) => query.filter(contacts::Column::Status.eq(status)),
        None => query.filter(
            sea_orm::Condition::any()
                .add(contacts::Column::Status.ne(BLOCKED))
                .add(contacts::Column::RequestedBy.eq(me)),
        ),
    };
    let rows = keyset(
        query,
        contacts::Column::CreatedAt,
        contacts::Column::ContactId,
        page,
        false,
    )
    .all(&state.db)
    .await?;
    Ok(Slice::from_probe(page, rows))
}
