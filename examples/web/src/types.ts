// The shapes the documents in documents.ts select (hand-written; `npm run validate` keeps the
// documents honest against schema.graphql).

export interface User {
  id: string;
  username: string;
  displayName: string;
}

export interface Message {
  id: string;
  roomId: string;
  body: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** The sender's view: every other member has it delivered / has read it. */
  status: MessageStatus;
  sender: User | null;
}

export type MessageStatus = "SENT" | "DELIVERED" | "READ";

export interface RoomSummary {
  id: string;
  kind: "DIRECT" | "GROUP";
  name: string | null;
  unreadCount: number;
  members: { user: User; lastReadMessageId: string | null; lastDeliveredMessageId: string | null }[];
  lastMessage: {
    id: string;
    body: string | null;
    deletedAt: string | null;
    createdAt: string;
    sender: { displayName: string } | null;
  } | null;
}

export interface MessagePage {
  edges: { cursor: string; node: Message }[];
  pageInfo: { hasPreviousPage: boolean; startCursor: string | null };
}

export type RoomEvent =
  | { __typename: "MessageAdded" | "MessageEdited" | "MessageDeleted"; message: Message }
  | { __typename: "ReceiptUpdated"; roomId: string; messageId: string; marker: "DELIVERED" | "READ"; user: User }
  | { __typename: "Typing"; roomId: string; typing: boolean; expiresAt: string; user: User }
  | { __typename: "MemberJoined"; roomId: string; member: { user: User } }
  | { __typename: "MemberLeft"; roomId: string; user: User }
  | { __typename: "ReactionChanged" };

export type MyEvent =
  | { __typename: "UnreadChanged"; roomId: string; unreadCount: number }
  | { __typename: "RoomAdded"; room: RoomSummary }
  | { __typename: "NotificationAdded" | "ContactRequested" };

export type CallConnectionState = "CONNECTING" | "CONNECTED" | "RECONNECTING" | "FAILED";

export interface CallParticipant {
  sessionId: string;
  muted: boolean;
  cameraOff: boolean;
  screenSharing: boolean;
  handRaised: boolean;
  speaking: boolean;
  connection: CallConnectionState;
  user: User;
}

export interface IceServer {
  urls: string[];
  username: string | null;
  credential: string | null;
  expiresAt: string | null;
}

export interface CallSession {
  sessionId: string;
  call: { id: string };
  iceServers: IceServer[];
}

export type SignalKind = "OFFER" | "ANSWER" | "ICE_CANDIDATE" | "RENEGOTIATE" | "BYE";

export type CallEvent =
  | { __typename: "ParticipantJoined" | "ParticipantUpdated"; participant: CallParticipant }
  | { __typename: "ParticipantLeft"; participant: CallParticipant; reason: "LEFT" | "TIMEOUT" | "DISCONNECTED" | "REMOVED" }
  | { __typename: "CallEnded"; call: { id: string } }
  | { __typename: "Signal"; fromSessionId: string; kind: SignalKind; payload: unknown };
