//! Calls and their sessions: the live call of each room, a call's participants (its live
//! sessions), and the liveness sweep that lets sessions go once their client fell silent.
//!
//! Everything that adds a session to a call or ends a call does so holding the room's row
//! lock ([`lock_room`]; on SQLite the writer turn), so a call never ends under a join and a
//! join never lands in a call that ended.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use entity::{call_sessions, calls, rooms};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::kinds::CallLeaveReason;
use super::sql::Sql;
use crate::db::{begin_write, now, writer};
use crate::realtime::{Event, SharedBroker, Topic, publish_to};

/// The room row, locked until the transaction ends (PostgreSQL; SQLite's writer turn already
/// serialises the writers).
pub async fn lock_room(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Option<rooms::Model>, DbErr> {
    rooms::Entity::find_by_id(room_id)
        .lock_exclusive()
        .one(db)
        .await
}

/// The live call of a room, if any.
pub async fn live_of_room(
    db: &impl ConnectionTrait,
    room_id: Uuid,
) -> Result<Option<calls::Model>, DbErr> {
    calls::Entity::find()
        .filter(calls::Column::RoomId.eq(room_id))
        .filter(calls::Column::EndedAt.is_null())
        .one(db)
        .await
}

/// The live calls of the rooms (at most one each).
pub async fn live_in(
    db: &impl ConnectionTrait,
    room_ids: Vec<Uuid>,
) -> Result<Vec<calls::Model>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    calls::Entity::find()
        .filter(calls::Column::RoomId.is_in(room_ids))
        .filter(calls::Column::EndedAt.is_null())
        .all(db)
        .await
}

/// The live sessions of the calls, in the order they joined.
pub async fn participants(
    db: &impl ConnectionTrait,
    call_ids: Vec<Uuid>,
) -> Result<Vec<call_sessions::Model>, DbErr> {
    if call_ids.is_empty() {
        return Ok(Vec::new());
    }
    call_sessions::Entity::find()
        .filter(call_sessions::Column::CallId.is_in(call_ids))
        .filter(call_sessions::Column::LeftAt.is_null())
        .order_by_asc(call_sessions::Column::JoinedAt)
        .order_by_asc(call_sessions::Column::Id)
        .all(db)
        .await
}

/// How many live sessions a call has.
pub async fn live_count(db: &impl ConnectionTrait, call_id: Uuid) -> Result<u64, DbErr> {
    call_sessions::Entity::find()
        .filter(call_sessions::Column::CallId.eq(call_id))
        .filter(call_sessions::Column::LeftAt.is_null())
        .count(db)
        .await
}

/// Sessions last seen before this, `ttl` before `at`, have timed out.
pub fn cutoff(at: DateTime<FixedOffset>, ttl: std::time::Duration) -> DateTime<FixedOffset> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    at.checked_sub_signed(ttl).unwrap_or(at)
}

/// Whether any live session of the rooms' live calls (of all calls with `None`) was last seen
/// before `cutoff`: a cheap read that spares the sweep's writes when nobody timed out.
pub async fn any_stale(
    db: &impl ConnectionTrait,
    cutoff: DateTime<FixedOffset>,
    room_ids: Option<&[Uuid]>,
) -> Result<bool, DbErr> {
    let mut query =
        Sql::new("SELECT s.id FROM call_sessions s WHERE s.left_at IS NULL AND s.last_seen_at < ");
    query.bind(cutoff);
    query.append(in_rooms("s.call_id", room_ids));
    query.push(" LIMIT 1");
    let rows = db
        .query_all_raw(query.statement(db.get_database_backend()))
        .await?;
    Ok(!rows.is_empty())
}

/// ` AND <column> IN (the rooms' live calls)`, or nothing for every room.
fn in_rooms(column: &str, room_ids: Option<&[Uuid]>) -> Sql {
    let mut sql = Sql::default();
    if let Some(room_ids) = room_ids {
        sql.push(" AND ")
            .push(column)
            .push(" IN (SELECT c.id FROM calls c WHERE c.ended_at IS NULL AND c.room_id IN (");
        if room_ids.is_empty() {
            sql.push("NULL");
        } else {
            sql.list(room_ids.iter().copied());
        }
        sql.push("))");
    }
    sql
}

/// Marks the live sessions last seen before `cutoff` as left at `at` with reason `timeout`;
/// returns them as they are now.
pub async fn time_out(
    db: &impl ConnectionTrait,
    at: DateTime<FixedOffset>,
    cutoff: DateTime<FixedOffset>,
    room_ids: Option<&[Uuid]>,
) -> Result<Vec<call_sessions::Model>, DbErr> {
    let mut query = Sql::new("UPDATE call_sessions SET left_at = ");
    query
        .bind(at)
        .push(", leave_reason = ")
        .bind(CallLeaveReason::Timeout.as_str())
        .push(" WHERE left_at IS NULL AND last_seen_at < ")
        .bind(cutoff);
    query.append(in_rooms("call_id", room_ids));
    query.push(" RETURNING *");
    call_sessions::Model::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await
}

/// Marks the live sessions among `session_ids` as left at `at` for `reason`; returns those
/// that left now.
pub async fn leave(
    db: &impl ConnectionTrait,
    session_ids: &[Uuid],
    at: DateTime<FixedOffset>,
    reason: CallLeaveReason,
) -> Result<Vec<call_sessions::Model>, DbErr> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = Sql::new("UPDATE call_sessions SET left_at = ");
    query
        .bind(at)
        .push(", leave_reason = ")
        .bind(reason.as_str())
        .push(" WHERE left_at IS NULL AND id IN (");
    query.list(session_ids.iter().copied());
    query.push(") RETURNING *");
    call_sessions::Model::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await
}

/// The live sessions of `user_id` in the live call of `room_id`.
pub async fn live_sessions_of(
    db: &impl ConnectionTrait,
    room_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<call_sessions::Model>, DbErr> {
    let mut query = Sql::new(
        "SELECT s.* FROM call_sessions s JOIN calls c ON c.id = s.call_id \
         WHERE s.left_at IS NULL AND c.ended_at IS NULL AND c.room_id = ",
    );
    query.bind(room_id).push(" AND s.user_id = ").bind(user_id);
    call_sessions::Model::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await
}

/// How many live sessions `user_id` has, in all calls.
pub async fn live_count_of_user(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, DbErr> {
    call_sessions::Entity::find()
        .filter(call_sessions::Column::UserId.eq(user_id))
        .filter(call_sessions::Column::LeftAt.is_null())
        .count(db)
        .await
}

/// Moves `last_seen_at` of the live sessions among `session_ids` to `at`; returns how many.
pub async fn touch(
    db: &impl ConnectionTrait,
    session_ids: &[Uuid],
    at: DateTime<FixedOffset>,
) -> Result<u64, DbErr> {
    if session_ids.is_empty() {
        return Ok(0);
    }
    let mut query = Sql::new("UPDATE call_sessions SET last_seen_at = ");
    query.bind(at).push(" WHERE left_at IS NULL AND id IN (");
    query.list(session_ids.iter().copied());
    query.push(")");
    let done = db
        .execute_raw(query.statement(db.get_database_backend()))
        .await?;
    Ok(done.rows_affected())
}

/// The calls by id.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    call_ids: Vec<Uuid>,
) -> Result<Vec<calls::Model>, DbErr> {
    if call_ids.is_empty() {
        return Ok(Vec::new());
    }
    calls::Entity::find()
        .filter(calls::Column::Id.is_in(call_ids))
        .all(db)
        .await
}

/// Live calls without a live session (their last participant left or timed out).
pub async fn empty_live_calls(
    db: &impl ConnectionTrait,
    room_ids: Option<&[Uuid]>,
) -> Result<Vec<calls::Model>, DbErr> {
    let mut query = Sql::new("SELECT c.* FROM calls c WHERE c.ended_at IS NULL");
    if let Some(room_ids) = room_ids {
        query.push(" AND c.room_id IN (");
        if room_ids.is_empty() {
            query.push("NULL");
        } else {
            query.list(room_ids.iter().copied());
        }
        query.push(")");
    }
    query.push(
        " AND NOT EXISTS (SELECT 1 FROM call_sessions s WHERE s.call_id = c.id AND s.left_at IS NULL)",
    );
    calls::Model::find_by_statement(query.statement(db.get_database_backend()))
        .all(db)
        .await
}

/// Ends `call` at `at`; returns it ended, or `None` when it had already ended.
pub async fn end(
    db: &impl ConnectionTrait,
    call_id: Uuid,
    at: DateTime<FixedOffset>,
) -> Result<Option<calls::Model>, DbErr> {
    let mut query = Sql::new("UPDATE calls SET ended_at = ");
    query
        .bind(at)
        .push(" WHERE ended_at IS NULL AND id = ")
        .bind(call_id)
        .push(" RETURNING *");
    calls::Model::find_by_statement(query.statement(db.get_database_backend()))
        .one(db)
        .await
}

/// What one liveness sweep did: the sessions that left and the calls that ended, to be
/// published ([`Expired::publish`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Expired {
    /// Sessions that left with reason `timeout`, with their room.
    pub left: Vec<(Uuid, call_sessions::Model)>,
    /// Calls that ended because nobody was left.
    pub ended: Vec<calls::Model>,
}

impl Expired {
    /// Tells each room's call subscribers who left and which call ended.
    pub fn publish(self, broker: &SharedBroker) {
        for (room_id, participant) in self.left {
            let reason = participant
                .leave_reason
                .clone()
                .unwrap_or_else(|| CallLeaveReason::Timeout.as_str().to_owned());
            publish_to(
                broker,
                Topic::Call(room_id),
                Event::CallLeft {
                    room_id,
                    participant,
                    reason,
                },
            );
        }
        for call in self.ended {
            publish_to(broker, Topic::Call(call.room_id), Event::CallEnded { call });
        }
    }
}

/// Pairs sessions with the rooms of their calls (one read).
pub async fn with_rooms(
    db: &impl ConnectionTrait,
    sessions: Vec<call_sessions::Model>,
) -> Result<Vec<(Uuid, call_sessions::Model)>, DbErr> {
    let mut call_ids: Vec<Uuid> = sessions.iter().map(|s| s.call_id).collect();
    call_ids.sort_unstable();
    call_ids.dedup();
    let rooms: std::collections::HashMap<Uuid, Uuid> = by_ids(db, call_ids)
        .await?
        .into_iter()
        .map(|call| (call.id, call.room_id))
        .collect();
    Ok(sessions
        .into_iter()
        .filter_map(|session| Some((*rooms.get(&session.call_id)?, session)))
        .collect())
}

/// The liveness sweep: sessions not seen for `ttl` leave with reason `timeout`, and calls left
/// without a live session end. Only the rooms in `room_ids` (their live calls) when given.
/// Each call is ended in its own transaction holding its room's lock, after checking again
/// that it is still empty (a join may have come in between). Several processes may sweep at
/// once: each session and call is reported by the one whose update changed it.
pub async fn expire(
    db: &DatabaseConnection,
    turn: &Arc<Mutex<()>>,
    ttl: std::time::Duration,
    room_ids: Option<&[Uuid]>,
) -> Result<Expired, DbErr> {
    let at = now();
    let cutoff = cutoff(at, ttl);
    let mut expired = Expired::default();
    if any_stale(db, cutoff, room_ids).await? {
        let left = time_out(&*writer(db, turn).await, at, cutoff, room_ids).await?;
        expired.left = with_rooms(db, left).await?;
    }
    for call in empty_live_calls(db, room_ids).await? {
        let txn = begin_write(db, turn).await?;
        lock_room(&*txn, call.room_id).await?;
        if live_count(&*txn, call.id).await? == 0
            && let Some(ended) = end(&*txn, call.id, now()).await?
        {
            expired.ended.push(ended);
        }
        txn.commit().await?;
    }
    Ok(expired)
}

/// The live calls of `room_ids` after letting their sessions that fell silent for `ttl` go
/// (see [`expire`]; and tells their subscribers), so no reader sees a participant whose client is gone, even between two
/// runs of the background sweep. Costs one read more than [`live_in`] when nobody timed out.
pub async fn live_in_fresh(
    db: &DatabaseConnection,
    turn: &Arc<Mutex<()>>,
    broker: &SharedBroker,
    ttl: std::time::Duration,
    room_ids: Vec<Uuid>,
) -> Result<Vec<calls::Model>, DbErr> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let cutoff = cutoff(now(), ttl);
    if any_stale(db, cutoff, Some(&room_ids)).await? {
        expire(db, turn, ttl, Some(&room_ids))
            .await?
            .publish(broker);
    }
    live_in(db, room_ids).await
}
