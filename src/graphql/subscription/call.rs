//! `callEvents`: a room's call as it happens, and the signals addressed to one session.

use async_graphql::{Context, Json, Result};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use uuid::Uuid;

use super::{ConnectionControl, Step, events};
use crate::auth;
use crate::graphql::types::call::{Call, CallParticipant};
use crate::graphql::types::call_event::{
    CallEnded, CallEvent, ParticipantJoined, ParticipantLeft, ParticipantUpdated, Signal,
};
use crate::graphql::{state, viewer};
use crate::realtime::{Event, Topic};
use crate::service;
use crate::service::call::live::{self, Held};
use crate::service::call::session::LeaveReason;
use crate::service::call::signal::SignalKind;

/// What one of the merged event streams says.
enum Flow {
    /// Deliver it.
    Event(CallEvent),
    /// Deliver it, then end (the subscriber's own session left).
    Last(CallEvent),
    /// End now (the subscriber left the room).
    End,
}

/// The `callEvents` stream; see the resolver. Every receiver is registered before the
/// snapshot of participants is read, so no join falls between the two (one may come twice:
/// clients key participants by session id).
pub async fn call_events(
    ctx: &Context<'_>,
    room_id: Uuid,
    session_id: Option<Uuid>,
) -> Result<impl Stream<Item = CallEvent> + use<>> {
    let viewer = auth::require(viewer(ctx))?;
    let state = state(ctx)?;
    service::membership::require_member(&state.reads(), viewer, room_id).await?;
    let own = match session_id {
        Some(id) => Some(live::own_in_room(state, viewer, id, room_id).await?),
        None => None,
    };
    // From here on the subscription holds the session: also while it is still being set up,
    // so a socket that closes before the first event lets it go as well.
    let held = own
        .as_ref()
        .map(|own| Held::new(state, own.call_id, own.id));
    let control = ctx.data_opt::<ConnectionControl>().cloned();
    let me = viewer.id();
    let mut streams = vec![
        events(
            state.broker.subscribe(Topic::Call(room_id)),
            control.clone(),
            move |event| call_event(event, session_id),
        )
        .boxed(),
        events(
            state.broker.subscribe(Topic::Room(room_id)),
            control.clone(),
            move |event| match event {
                Event::MemberLeft { user_id, .. } if *user_id == me => Step::Yield(Flow::End),
                _ => Step::Skip,
            },
        )
        .boxed(),
    ];
    if let Some(own) = &own {
        let own_id = own.id;
        streams.push(
            events(
                state.broker.subscribe(Topic::CallSession(own_id)),
                control,
                move |event| match event {
                    Event::CallSignal {
                        from_session_id,
                        to_session_id,
                        kind,
                        payload,
                    } if *to_session_id == own_id => match SignalKind::parse(kind) {
                        Some(kind) => Step::Yield(Flow::Event(CallEvent::Signal(Signal {
                            from_session_id: *from_session_id,
                            kind: kind.into(),
                            payload: Json(payload.as_ref().clone()),
                        }))),
                        None => Step::Skip,
                    },
                    _ => Step::Skip,
                },
            )
            .boxed(),
        );
    }
    let snapshot: Vec<Flow> = live::participants_now(state, room_id)
        .await?
        .into_iter()
        .map(|participant| {
            Flow::Event(CallEvent::ParticipantJoined(ParticipantJoined {
                participant: CallParticipant(participant),
            }))
        })
        .collect();
    Ok(stream::iter(snapshot)
        .chain(stream::select_all(streams))
        .scan(false, move |done, flow| {
            // Held as long as the stream lives.
            let _ = &held;
            let item = match flow {
                _ if *done => None,
                Flow::Event(event) => Some(event),
                Flow::Last(event) => {
                    *done = true;
                    Some(event)
                }
                Flow::End => None,
            };
            std::future::ready(item)
        }))
}

/// A room's call event for a subscriber holding `own` (if any).
fn call_event(event: &Event, own: Option<Uuid>) -> Step<Flow> {
    Step::Yield(match event {
        Event::CallJoined { participant, .. } => {
            Flow::Event(CallEvent::ParticipantJoined(ParticipantJoined {
                participant: CallParticipant(participant.clone()),
            }))
        }
        Event::CallLeft {
            participant,
            reason,
            ..
        } => {
            let item = CallEvent::ParticipantLeft(ParticipantLeft {
                participant: CallParticipant(participant.clone()),
                reason: LeaveReason::parse(reason).into(),
            });
            if Some(participant.id) == own {
                Flow::Last(item)
            } else {
                Flow::Event(item)
            }
        }
        Event::CallUpdated { participant, .. } => {
            Flow::Event(CallEvent::ParticipantUpdated(ParticipantUpdated {
                participant: CallParticipant(participant.clone()),
            }))
        }
        Event::CallEnded { call } => Flow::Event(CallEvent::CallEnded(CallEnded {
            call: Call(call.clone()),
        })),
        // Published on the call's topic after its end, so followers hear CallEnded first.
        Event::RoomDeleted { .. } => Flow::End,
        _ => return Step::Skip,
    })
}
