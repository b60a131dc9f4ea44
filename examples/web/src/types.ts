// The shapes the client works with, named after what it does with them. All of them come from
// src/generated/graphql.ts, which `npm run codegen` (codegen.ts) writes from schema.graphql and
// the documents in documents.ts: a schema change that breaks the client fails `tsc --noEmit`.

import type {
  CallEventsSubscription,
  JoinCallMutation,
  MessageBitsFragment,
  MyEventsSubscription,
  ParticipantBitsFragment,
  RoomEventsSubscription,
  RoomMessagesQuery,
  RoomSummaryFragment,
  UserBitsFragment,
} from "./generated/graphql";

export type { CallConnectionState, MessageStatus, SignalKind, UserStatus } from "./generated/graphql";

export type User = UserBitsFragment;

export type Message = MessageBitsFragment;

export type RoomSummary = RoomSummaryFragment;

export type MessagePage = NonNullable<RoomMessagesQuery["room"]>["messages"];

/** One `roomEvents` payload: a union discriminated by `__typename`. */
export type RoomEvent = RoomEventsSubscription["roomEvents"];

/** One `myEvents` payload. */
export type MyEvent = MyEventsSubscription["myEvents"];

export type CallParticipant = ParticipantBitsFragment;

export type CallSession = JoinCallMutation["joinCall"];

export type IceServer = CallSession["iceServers"][number];

/** One `callEvents` payload. */
export type CallEvent = CallEventsSubscription["callEvents"];
