//! Connection logs of voice/video clients: events with quality metrics, the raw events (paged,
//! filtered), statistics over a window (counts per event, average and p95 round-trip time),
//! and retention. An event may
//! name the caller's call session it was logged from (see [`crate::service::call::history`]
//! for the rules), which puts it in that call's `connectionEvents`.

use chrono::{DateTime, Duration, FixedOffset};
use entity::connection_logs;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::db::now;
use crate::error::{ApiError, ApiResult};
use crate::service::call::history;
use crate::service::membership::{Role, require_member};
use crate::service::validate;
use crate::state::AppState;
use crate::store;
use crate::store::page::{Page, Slice};

pub const EVENTS: [&str; 4] = ["connected", "disconnected", "reconnected", "quality"];
/// Most rows one statistics call reads.
const STATS_ROWS_MAX: u64 = 200_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub packet_loss: Option<f64>,
}

fn check(field: &str, value: Option<f64>, max: f64) -> ApiResult<Option<f64>> {
    match value {
        Some(v) if !v.is_finite() || v < 0.0 || v > max => Err(ApiError::bad_input(
            field,
            format!("{field} must be between 0 and {max}"),
        )),
        other => Ok(other),
    }
}

impl Metrics {
    /// RTT and jitter in milliseconds up to a minute; packet loss a fraction 0..1.
    pub fn validated(self) -> ApiResult<Self> {
        Ok(Self {
            rtt_ms: check("rttMs", self.rtt_ms, 60_000.0)?,
            jitter_ms: check("jitterMs", self.jitter_ms, 60_000.0)?,
            packet_loss: check("packetLoss", self.packet_loss, 1.0)?,
        })
    }

    fn to_json(self) -> Json {
        json!({ "rtt_ms": self.rtt_ms, "jitter_ms": self.jitter_ms, "packet_loss": self.packet_loss })
    }

    /// The figures stored in a row's `metrics` (absent ones `None`).
    pub fn from_json(value: &Json) -> Self {
        Self {
            rtt_ms: value.get("rtt_ms").and_then(Json::as_f64),
            jitter_ms: value.get("jitter_ms").and_then(Json::as_f64),
            packet_loss: value.get("packet_loss").and_then(Json::as_f64),
        }
    }
}

/// What an event is about: a room, a call session of the caller's, both, or neither.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    pub room_id: Option<Uuid>,
    pub call_session_id: Option<Uuid>,
}

/// Records one event for the caller (in a room they belong to, if given; from a call session
/// of theirs, if given, whose call's room the event is then in).
pub async fn log(
    state: &AppState,
    viewer: &Viewer,
    scope: Scope,
    event: &str,
    metrics: Option<Metrics>,
) -> ApiResult<()> {
    if !EVENTS.contains(&event) {
        return Err(ApiError::bad_input("event", "unknown event"));
    }
    let metrics = metrics.map(Metrics::validated).transpose()?;
    let room_id = match scope.call_session_id {
        Some(session_id) => {
            Some(history::event_room(state, viewer, scope.room_id, session_id).await?)
        }
        None => scope.room_id,
    };
    if let Some(room_id) = room_id {
        require_member(&state.reads(), viewer, room_id).await?;
    }
    connection_logs::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(viewer.id()),
        room_id: Set(room_id),
        call_session_id: Set(scope.call_session_id),
        event: Set(event.to_owned()),
        metrics: Set(metrics.map(Metrics::to_json)),
        created_at: Set(now()),
    }
    .insert(&*state.writer().await)
    .await?;
    Ok(())
}

/// Which raw events `connectionEvents` asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventQuery {
    pub room_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// One of [`EVENTS`].
    pub event: Option<&'static str>,
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
}

/// A page of raw connection events, newest first. Everyone reads their own (across rooms, or
/// in one room, whether or not they are still in it); a room's active owners and admins read
/// everyone's in that room. Naming another user is FORBIDDEN unless the caller manages the
/// room named.
pub async fn events(
    state: &AppState,
    viewer: &Viewer,
    query: EventQuery,
    page: Page,
) -> ApiResult<Slice<connection_logs::Model>> {
    let since = query
        .since
        .map(|at| validate::time("since", at))
        .transpose()?;
    let until = query
        .until
        .map(|at| validate::time("until", at))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && until < since
    {
        return Err(ApiError::bad_input(
            "until",
            "until must not be before since",
        ));
    }
    let manages = match query.room_id {
        Some(room_id) => store::room::with_membership(&state.db, room_id, viewer.id())
            .await?
            .is_some_and(|(_, member)| Role::parse(&member.role) >= Role::Admin),
        None => false,
    };
    let user_id = match query.user_id {
        Some(user_id) if user_id != viewer.id() && !manages => {
            return Err(ApiError::Forbidden(
                "only a room's owners and admins read others' connection events, in that room"
                    .to_owned(),
            ));
        }
        Some(user_id) => Some(user_id),
        None if manages => None,
        None => Some(viewer.id()),
    };
    let filter = store::call_history::EventFilter {
        room_id: query.room_id,
        user_id,
        event: query.event,
        since,
        until,
    };
    Ok(store::call_history::events(&state.db, &filter, page).await?)
}

#[derive(Debug, Default)]
pub struct Stats {
    pub since: Option<DateTime<FixedOffset>>,
    pub total: u64,
    pub by_event: Vec<(String, u64)>,
    pub users: u64,
    pub avg_rtt_ms: Option<f64>,
    pub p95_rtt_ms: Option<f64>,
    pub avg_jitter_ms: Option<f64>,
    pub avg_packet_loss: Option<f64>,
}

/// Statistics over a room's logs (members only), over one call session's (members of its
/// call's room only, whoever's session it is) or, without either, the caller's own, since
/// `since` (default: the last 24 hours).
pub async fn stats(
    state: &AppState,
    viewer: &Viewer,
    scope: Scope,
    since: Option<DateTime<FixedOffset>>,
) -> ApiResult<Stats> {
    let since = match since {
        Some(at) => validate::time("since", at)?,
        None => now() - Duration::hours(24),
    };
    let mut query =
        connection_logs::Entity::find().filter(connection_logs::Column::CreatedAt.gte(since));
    query = match (scope.room_id, scope.call_session_id) {
        (room_id, Some(session_id)) => {
            history::stats_room(state, viewer, room_id, session_id).await?;
            query.filter(connection_logs::Column::CallSessionId.eq(session_id))
        }
        (Some(room_id), None) => {
            require_member(&state.reads(), viewer, room_id).await?;
            query.filter(connection_logs::Column::RoomId.eq(room_id))
        }
        (None, None) => query.filter(connection_logs::Column::UserId.eq(viewer.id())),
    };
    let rows = query.limit(STATS_ROWS_MAX).all(&state.db).await?;
    Ok(summarize(since, &rows))
}

fn summarize(since: DateTime<FixedOffset>, rows: &[connection_logs::Model]) -> Stats {
    let mut by_event: Vec<(String, u64)> = EVENTS.iter().map(|e| ((*e).to_owned(), 0)).collect();
    let mut users: Vec<Uuid> = Vec::new();
    let (mut rtts, mut jitters, mut losses) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        if let Some(slot) = by_event.iter_mut().find(|(e, _)| *e == row.event) {
            slot.1 += 1;
        }
        users.push(row.user_id);
        if let Some(m) = row.metrics.as_ref().map(Metrics::from_json) {
            rtts.extend(m.rtt_ms);
            jitters.extend(m.jitter_ms);
            losses.extend(m.packet_loss);
        }
    }
    users.sort_unstable();
    users.dedup();
    rtts.sort_by(f64::total_cmp);
    Stats {
        since: Some(since),
        total: rows.len() as u64,
        by_event,
        users: users.len() as u64,
        avg_rtt_ms: mean(&rtts),
        p95_rtt_ms: percentile(&rtts, 0.95),
        avg_jitter_ms: mean(&jitters),
        avg_packet_loss: mean(&losses),
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.95), Some(95.0));
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.95), None);
        assert_eq!(mean(&[1.0, 2.0, 3.0]), Some(2.0));
    }

    #[test]
    fn metrics_are_bounded() {
        let ok = Metrics {
            rtt_ms: Some(40.0),
            jitter_ms: Some(3.0),
            packet_loss: Some(0.01),
        };
        assert!(ok.validated().is_ok());
        for bad in [
            Metrics {
                rtt_ms: Some(-1.0),
                ..ok
            },
            Metrics {
                jitter_ms: Some(f64::NAN),
                ..ok
            },
            Metrics {
                packet_loss: Some(1.5),
                ..ok
            },
        ] {
            assert!(bad.validated().is_err());
        }
    }
}
