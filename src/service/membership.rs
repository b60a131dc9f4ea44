//! Membership checks on the hot path (every send), shared by concurrent requests: the checks
//! queued while a lookup runs are answered by the next one, one statement for all of them.

use std::collections::{HashMap, HashSet};

use entity::{room_members, rooms};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::error::ApiResult;
use crate::service::batch;
use crate::service::room::not_found;

/// Pairs looked up per statement (two bound values each).
const MAX_BATCH: usize = 256;
const QUEUE: usize = 4096;

type Found = Option<(rooms::Model, room_members::Model)>;

struct Check {
    room_id: Uuid,
    user_id: Uuid,
    done: oneshot::Sender<Result<Found, DbErr>>,
}

/// The queue of membership checks; cheap to clone.
#[derive(Clone)]
pub struct MemberChecks {
    checks: mpsc::Sender<Check>,
}

impl MemberChecks {
    /// Starts the lookups (see [`batch::spawn_workers`]).
    pub fn start(db: DatabaseConnection) -> Self {
        let (checks, queue) = mpsc::channel(QUEUE);
        let workers = batch::workers_for(db.get_database_backend());
        batch::spawn_workers(workers, MAX_BATCH, queue, move |checks: Vec<Check>| {
            let db = db.clone();
            async move {
                let pairs: Vec<(Uuid, Uuid)> =
                    checks.iter().map(|c| (c.room_id, c.user_id)).collect();
                match lookup(&db, &pairs).await {
                    Ok(found) => {
                        for check in checks {
                            let hit = found.get(&(check.room_id, check.user_id)).cloned();
                            let _ = check.done.send(Ok(hit));
                        }
                    }
                    Err(err) => {
                        let message = err.to_string();
                        for check in checks {
                            let _ = check.done.send(Err(DbErr::Custom(message.clone())));
                        }
                    }
                }
            }
        });
        Self { checks }
    }

    /// [`crate::service::room::require_member`], answered together with the checks queued
    /// beside it: the room (not deleted) and the viewer's active membership, or `NOT_FOUND`.
    pub async fn require(
        &self,
        viewer: &Viewer,
        room_id: Uuid,
    ) -> ApiResult<(rooms::Model, room_members::Model)> {
        let (done, found) = oneshot::channel();
        let stopped = || DbErr::Custom("membership checks have stopped".to_owned());
        self.checks
            .send(Check {
                room_id,
                user_id: viewer.id(),
                done,
            })
            .await
            .map_err(|_| stopped())?;
        found.await.map_err(|_| stopped())??.ok_or_else(not_found)
    }
}

/// The rooms (not deleted) and active memberships of `pairs` (room, user), in one statement:
/// every membership of those users in those rooms (two plain `IN` lists plan and run faster
/// than a list of pairs), then only the pairs asked for.
pub async fn lookup(
    db: &impl ConnectionTrait,
    pairs: &[(Uuid, Uuid)],
) -> Result<HashMap<(Uuid, Uuid), (rooms::Model, room_members::Model)>, DbErr> {
    let rooms: HashSet<Uuid> = pairs.iter().map(|(room, _)| *room).collect();
    let users: HashSet<Uuid> = pairs.iter().map(|(_, user)| *user).collect();
    let asked: HashSet<&(Uuid, Uuid)> = pairs.iter().collect();
    let rows = rooms::Entity::find()
        .filter(rooms::Column::Id.is_in(rooms))
        .filter(rooms::Column::DeletedAt.is_null())
        .find_also_related(room_members::Entity)
        .filter(room_members::Column::UserId.is_in(users))
        .filter(room_members::Column::LeftAt.is_null())
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(room, member)| member.map(|m| ((room.id, m.user_id), (room, m))))
        .filter(|(pair, _)| asked.contains(pair))
        .collect())
}
