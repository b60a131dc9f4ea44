/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** How a participant's media connection is doing, as its client reports it. */
export type CallConnectionState =
  /** Media flows. */
  | 'CONNECTED'
  /** Joined, still negotiating (every session starts here). */
  | 'CONNECTING'
  /** The client gave up connecting. */
  | 'FAILED'
  /** Media stopped; the client is restarting ICE. */
  | 'RECONNECTING';

/** Why a session left its call. */
export type CallLeaveReason =
  /** The `callEvents` subscription that held it ended: its socket closed. */
  | 'DISCONNECTED'
  /** `leaveCall`. */
  | 'LEFT'
  /** Its user left the room or was removed from it. */
  | 'REMOVED'
  /** Not heard from (heartbeat or subscription) for `--call-session-ttl` seconds. */
  | 'TIMEOUT';

/** A change of the caller's state in a call; omitted fields stay as they are. */
export type CallStateInput = {
  /** The camera is off. */
  cameraOff?: boolean | null | undefined;
  /** How the media connection is doing. */
  connection?: CallConnectionState | null | undefined;
  /** The hand is raised. */
  handRaised?: boolean | null | undefined;
  /** The microphone is off. */
  muted?: boolean | null | undefined;
  /** The screen is shared. */
  screenSharing?: boolean | null | undefined;
  /** Speaking now (voice activity, as the client detects it). */
  speaking?: boolean | null | undefined;
};

/** The media flags to join a call with; both off when omitted. */
export type JoinCallInput = {
  /** Join with the camera off. */
  cameraOff?: boolean | null | undefined;
  /** Join with the microphone off. */
  muted?: boolean | null | undefined;
};

/** Credentials for `login`. */
export type LoginInput = {
  /**
   * Put the session in an HttpOnly `confab_session` cookie instead of answering the token
   * (`AuthPayload.token` is then the empty string): for browsers, on servers with `--cookie-sessions`,
   * over HTTP only. Requests signed in by the cookie must be POSTs with `Content-Type:
   * application/json` (or an `X-Confab-CSRF` header) from Confab's own origin or a
   * `--cors-origins` one; FORBIDDEN (`reason: "csrf"`) otherwise.
   */
  cookie?: boolean | null | undefined;
  /** Username or email address. */
  login: string;
  /** The account's password. */
  password: string;
  /** One of the account's unused recovery codes, in place of `totpCode` (each works once). */
  recoveryCode?: string | null | undefined;
  /** The current code of the authenticator app, when two-factor sign-in is on. */
  totpCode?: string | null | undefined;
};

/**
 * Where a message has got, as its sender sees it. Its recipients are the room's active
 * members other than the sender: in a direct room the other person, in a group everyone else.
 */
export type MessageStatus =
  /** Every recipient has it on a device; not every one has read it. */
  | 'DELIVERED'
  /** Every recipient has read it. */
  | 'READ'
  /** Stored, and not yet delivered to every recipient (or there is no recipient). */
  | 'SENT';

/** Which of a member's receipt markers moved. */
export type ReceiptMarker =
  /** The delivered marker (`markDelivered`): messages up to it reached a device. */
  | 'DELIVERED'
  /** The read marker (`markRead`): messages up to it were read, which implies delivered. */
  | 'READ';

/** A new account. */
export type RegisterInput = {
  /**
   * Put the session in an HttpOnly cookie instead of answering the token (servers with
   * `--cookie-sessions`; see `LoginInput.cookie`).
   */
  cookie?: boolean | null | undefined;
  /** Shown in the interface; the username when omitted. */
  displayName?: string | null | undefined;
  /** A unique email address. */
  email: string;
  /** 8-128 characters. */
  password: string;
  /** 3-32 of a-z, 0-9 and _ (stored lowercase). */
  username: string;
};

/** Direct rooms hold exactly two people; group rooms are named and managed. */
export type RoomKind =
  /** A one-to-one conversation, one per pair of users. */
  | 'DIRECT'
  /** A named room with owners, admins and members. */
  | 'GROUP';

/** A new text message. */
export type SendMessageInput = {
  /** Up to ten uploaded blobs to attach (the body may then be empty). */
  attachmentBlobIds?: Array<string>;
  /** 1-10,000 characters after trimming. */
  body: string;
  /** Client-defined JSON object, at most 16 KiB and 16 levels deep. */
  metadata?: unknown;
  /** A message of the same room this one replies to. */
  replyToId?: string | null | undefined;
  /** The room to send to (the caller must be a member). */
  roomId: string;
};

/** A signal for another session of the caller's call. */
export type SignalInput = {
  /** The caller's own live session. */
  fromSessionId: string;
  /** What it is; passed through. */
  kind: SignalKind;
  /** Any JSON (an SDP description, an ICE candidate), at most 64 KiB as text. */
  payload: unknown;
  /** The session it is for, in the same call. */
  toSessionId: string;
};

/** What a signal is for; Confab passes it through. */
export type SignalKind =
  /** An SDP answer. */
  | 'ANSWER'
  /** The sender is hanging up on the addressed session. */
  | 'BYE'
  /** A trickled ICE candidate. */
  | 'ICE_CANDIDATE'
  /** An SDP offer. */
  | 'OFFER'
  /** A request to renegotiate (new tracks, an ICE restart). */
  | 'RENEGOTIATE';

/** The availability a user last chose. */
export type UserStatus =
  /** Signed in but not at the keyboard. */
  | 'AWAY'
  /** Not available. */
  | 'OFFLINE'
  /** Available. */
  | 'ONLINE';

export type UserBitsFragment = { id: string, username: string, displayName: string, status: UserStatus };

export type MessageBitsFragment = { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> };

export type RoomSummaryFragment = { id: string, kind: RoomKind, name: string | null, topic: string | null, memberCount: number, unreadCount: number, members: Array<{ lastReadMessageId: string | null, lastDeliveredMessageId: string | null, user: { id: string, username: string, displayName: string, status: UserStatus } }>, lastMessage: { id: string, body: string | null, deletedAt: string | null, createdAt: string, sender: { displayName: string } | null } | null };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, username: string, displayName: string, status: UserStatus } | null };

export type RegisterMutationVariables = Exact<{
  input: RegisterInput;
}>;


export type RegisterMutation = { register: { token: string, user: { id: string, username: string, displayName: string, status: UserStatus } } };

export type LoginMutationVariables = Exact<{
  input: LoginInput;
}>;


export type LoginMutation = { login: { token: string, user: { id: string, username: string, displayName: string, status: UserStatus } } };

export type LogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutMutation = { logout: boolean };

export type MyRoomsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
  archived?: boolean | null | undefined;
}>;


export type MyRoomsQuery = { myRooms: { edges: Array<{ node: { id: string, kind: RoomKind, name: string | null, topic: string | null, memberCount: number, unreadCount: number, members: Array<{ lastReadMessageId: string | null, lastDeliveredMessageId: string | null, user: { id: string, username: string, displayName: string, status: UserStatus } }>, lastMessage: { id: string, body: string | null, deletedAt: string | null, createdAt: string, sender: { displayName: string } | null } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type UserByUsernameQueryVariables = Exact<{
  username: string;
}>;


export type UserByUsernameQuery = { userByUsername: { id: string, username: string, displayName: string, status: UserStatus } | null };

export type OpenDirectRoomMutationVariables = Exact<{
  userId: string;
}>;


export type OpenDirectRoomMutation = { openDirectRoom: { id: string, kind: RoomKind, name: string | null, topic: string | null, memberCount: number, unreadCount: number, members: Array<{ lastReadMessageId: string | null, lastDeliveredMessageId: string | null, user: { id: string, username: string, displayName: string, status: UserStatus } }>, lastMessage: { id: string, body: string | null, deletedAt: string | null, createdAt: string, sender: { displayName: string } | null } | null } };

export type RoomMessagesQueryVariables = Exact<{
  id: string;
  last: number;
  before?: string | null | undefined;
}>;


export type RoomMessagesQuery = { room: { id: string, kind: RoomKind, name: string | null, topic: string | null, memberCount: number, unreadCount: number, messages: { edges: Array<{ cursor: string, node: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } }>, pageInfo: { hasPreviousPage: boolean, startCursor: string | null } }, members: Array<{ lastReadMessageId: string | null, lastDeliveredMessageId: string | null, user: { id: string, username: string, displayName: string, status: UserStatus } }>, lastMessage: { id: string, body: string | null, deletedAt: string | null, createdAt: string, sender: { displayName: string } | null } | null } | null };

export type SendMessageMutationVariables = Exact<{
  input: SendMessageInput;
}>;


export type SendMessageMutation = { sendMessage: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } };

export type EditMessageMutationVariables = Exact<{
  id: string;
  body: string;
}>;


export type EditMessageMutation = { editMessage: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } };

export type DeleteMessageMutationVariables = Exact<{
  id: string;
}>;


export type DeleteMessageMutation = { deleteMessage: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } };

export type MarkReadMutationVariables = Exact<{
  roomId: string;
  messageId: string;
}>;


export type MarkReadMutation = { markRead: { lastReadMessageId: string | null } };

export type MarkDeliveredMutationVariables = Exact<{
  roomId: string;
  messageId: string;
}>;


export type MarkDeliveredMutation = { markDelivered: { lastDeliveredMessageId: string | null } };

export type SetTypingMutationVariables = Exact<{
  roomId: string;
  typing: boolean;
}>;


export type SetTypingMutation = { setTyping: boolean };

export type RoomEventsSubscriptionVariables = Exact<{
  roomId: string;
}>;


export type RoomEventsSubscription = { roomEvents:
    | { __typename: 'MemberJoined', roomId: string, member: { user: { id: string, username: string, displayName: string, status: UserStatus } } }
    | { __typename: 'MemberLeft', roomId: string, user: { id: string, username: string, displayName: string, status: UserStatus } }
    | { __typename: 'MessageAdded', message: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } }
    | { __typename: 'MessageDeleted', message: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } }
    | { __typename: 'MessageEdited', message: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } }
    | { __typename: 'ReactionChanged', message: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } }
    | { __typename: 'ReceiptUpdated', roomId: string, messageId: string, marker: ReceiptMarker, user: { id: string, username: string, displayName: string, status: UserStatus } }
    | { __typename: 'RoomDeleted' }
    | { __typename: 'Typing', roomId: string, typing: boolean, expiresAt: string, user: { id: string, username: string, displayName: string, status: UserStatus } }
   };

export type MyEventsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type MyEventsSubscription = { myEvents:
    | { __typename: 'ContactRequested' }
    | { __typename: 'NotificationAdded' }
    | { __typename: 'RoomAdded', room: { id: string, kind: RoomKind, name: string | null, topic: string | null, memberCount: number, unreadCount: number, members: Array<{ lastReadMessageId: string | null, lastDeliveredMessageId: string | null, user: { id: string, username: string, displayName: string, status: UserStatus } }>, lastMessage: { id: string, body: string | null, deletedAt: string | null, createdAt: string, sender: { displayName: string } | null } | null } }
    | { __typename: 'RoomDeleted' }
    | { __typename: 'UnreadChanged', roomId: string, unreadCount: number, lastMessage: { id: string, body: string | null, deletedAt: string | null, createdAt: string, sender: { displayName: string } | null } | null }
   };

export type ParticipantBitsFragment = { sessionId: string, muted: boolean, cameraOff: boolean, screenSharing: boolean, handRaised: boolean, speaking: boolean, connection: CallConnectionState, user: { id: string, username: string, displayName: string, status: UserStatus } };

export type JoinCallMutationVariables = Exact<{
  roomId: string;
  input?: JoinCallInput | null | undefined;
}>;


export type JoinCallMutation = { joinCall: { sessionId: string, call: { id: string }, iceServers: Array<{ urls: Array<string>, username: string | null, credential: string | null, expiresAt: string | null }> } };

export type LeaveCallMutationVariables = Exact<{
  sessionId: string;
}>;


export type LeaveCallMutation = { leaveCall: boolean };

export type UpdateCallStateMutationVariables = Exact<{
  sessionId: string;
  input: CallStateInput;
}>;


export type UpdateCallStateMutation = { updateCallState: { sessionId: string, muted: boolean, cameraOff: boolean, screenSharing: boolean, handRaised: boolean, speaking: boolean, connection: CallConnectionState, user: { id: string, username: string, displayName: string, status: UserStatus } } };

export type SendSignalMutationVariables = Exact<{
  input: SignalInput;
}>;


export type SendSignalMutation = { sendSignal: boolean };

export type CallEventsSubscriptionVariables = Exact<{
  roomId: string;
  sessionId?: string | null | undefined;
}>;


export type CallEventsSubscription = { callEvents:
    | { __typename: 'CallEnded', call: { id: string } }
    | { __typename: 'ParticipantJoined', participant: { sessionId: string, muted: boolean, cameraOff: boolean, screenSharing: boolean, handRaised: boolean, speaking: boolean, connection: CallConnectionState, user: { id: string, username: string, displayName: string, status: UserStatus } } }
    | { __typename: 'ParticipantLeft', reason: CallLeaveReason, participant: { sessionId: string, muted: boolean, cameraOff: boolean, screenSharing: boolean, handRaised: boolean, speaking: boolean, connection: CallConnectionState, user: { id: string, username: string, displayName: string, status: UserStatus } } }
    | { __typename: 'ParticipantUpdated', participant: { sessionId: string, muted: boolean, cameraOff: boolean, screenSharing: boolean, handRaised: boolean, speaking: boolean, connection: CallConnectionState, user: { id: string, username: string, displayName: string, status: UserStatus } } }
    | { __typename: 'Signal', fromSessionId: string, kind: SignalKind, payload: unknown }
   };

export type RequestPasswordResetMutationVariables = Exact<{
  email: string;
}>;


export type RequestPasswordResetMutation = { requestPasswordReset: boolean };

export type ResetPasswordMutationVariables = Exact<{
  token: string;
  newPassword: string;
}>;


export type ResetPasswordMutation = { resetPassword: boolean };

export type ConfirmEmailChangeMutationVariables = Exact<{
  token: string;
}>;


export type ConfirmEmailChangeMutation = { confirmEmailChange: { id: string, email: string | null } };

export type VerifyEmailMutationVariables = Exact<{
  token: string;
}>;


export type VerifyEmailMutation = { verifyEmail: { id: string, email: string | null } };

export type EnableTotpMutationVariables = Exact<{ [key: string]: never; }>;


export type EnableTotpMutation = { enableTotp: { secret: string, otpauthUri: string } };

export type ConfirmTotpMutationVariables = Exact<{
  code: string;
}>;


export type ConfirmTotpMutation = { confirmTotp: { id: string } };

export type RegenerateRecoveryCodesMutationVariables = Exact<{
  password: string;
}>;


export type RegenerateRecoveryCodesMutation = { regenerateRecoveryCodes: Array<string> };

export type DisableTotpMutationVariables = Exact<{
  password: string;
  code: string;
}>;


export type DisableTotpMutation = { disableTotp: { id: string } };

export type OidcProvidersQueryVariables = Exact<{ [key: string]: never; }>;


export type OidcProvidersQuery = { oidcProviders: Array<{ name: string, displayName: string }> };

export type StartOidcLoginMutationVariables = Exact<{
  provider: string;
  redirectUri: string;
}>;


export type StartOidcLoginMutation = { startOidcLogin: { authorizationUrl: string, state: string } };

export type CompleteOidcLoginMutationVariables = Exact<{
  provider: string;
  code: string;
  state: string;
}>;


export type CompleteOidcLoginMutation = { completeOidcLogin: { token: string, user: { id: string, username: string, displayName: string, status: UserStatus } } };

export type ExportMyDataMutationVariables = Exact<{ [key: string]: never; }>;


export type ExportMyDataMutation = { exportMyData: { id: string, url: string, filename: string | null, size: number } };

export type DeleteAccountMutationVariables = Exact<{
  password: string;
}>;


export type DeleteAccountMutation = { deleteAccount: boolean };

export type PresenceSubscriptionVariables = Exact<{
  userIds: Array<string> | string;
}>;


export type PresenceSubscription = { presence: { userId: string, status: UserStatus } };

export type MyStatusQueryVariables = Exact<{ [key: string]: never; }>;


export type MyStatusQuery = { me: { id: string, chosenStatus: UserStatus | null } | null };

export type UpdateStatusMutationVariables = Exact<{
  status: UserStatus;
}>;


export type UpdateStatusMutation = { updateProfile: { id: string, username: string, displayName: string, status: UserStatus } };

export type ReactMutationVariables = Exact<{
  messageId: string;
  emoji: string;
}>;


export type ReactMutation = { react: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } };

export type UnreactMutationVariables = Exact<{
  messageId: string;
  emoji: string;
}>;


export type UnreactMutation = { unreact: { id: string, roomId: string, body: string | null, createdAt: string, editedAt: string | null, deletedAt: string | null, status: MessageStatus, sender: { id: string, username: string, displayName: string, status: UserStatus } | null, reactions: Array<{ emoji: string, count: number, users: Array<{ id: string }> }> } };
