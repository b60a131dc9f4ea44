// Every GraphQL document the client sends, in one place so that `npm run validate` can check
// each of them against the server's schema.graphql. Fragments are plain strings appended to
// the operations that use them, so every exported document is complete on its own.
// Each literal is marked /* GraphQL */ so that `npm run codegen` (codegen.ts) finds it and
// writes its result and variable types to src/generated/graphql.ts; each export carries them
// (Doc<Result, Variables>), so request() and subscribe() check variables and type results.

import type {
  CallEventsSubscription,
  CallEventsSubscriptionVariables,
  CompleteOidcLoginMutation,
  CompleteOidcLoginMutationVariables,
  ConfirmEmailChangeMutation,
  ConfirmEmailChangeMutationVariables,
  ConfirmTotpMutation,
  ConfirmTotpMutationVariables,
  DeleteAccountMutation,
  DeleteAccountMutationVariables,
  DeleteMessageMutation,
  DeleteMessageMutationVariables,
  DisableTotpMutation,
  DisableTotpMutationVariables,
  EditMessageMutation,
  EditMessageMutationVariables,
  EnableTotpMutation,
  EnableTotpMutationVariables,
  ExportMyDataMutation,
  ExportMyDataMutationVariables,
  JoinCallMutation,
  JoinCallMutationVariables,
  LeaveCallMutation,
  LeaveCallMutationVariables,
  LoginMutation,
  LoginMutationVariables,
  LogoutMutation,
  LogoutMutationVariables,
  MarkDeliveredMutation,
  MarkDeliveredMutationVariables,
  MarkReadMutation,
  MarkReadMutationVariables,
  MeQuery,
  MeQueryVariables,
  MyEventsSubscription,
  MyEventsSubscriptionVariables,
  MyStatusQuery,
  MyStatusQueryVariables,
  MyRoomsQuery,
  MyRoomsQueryVariables,
  OidcProvidersQuery,
  OidcProvidersQueryVariables,
  OpenDirectRoomMutation,
  OpenDirectRoomMutationVariables,
  PresenceSubscription,
  PresenceSubscriptionVariables,
  ReactMutation,
  ReactMutationVariables,
  RegenerateRecoveryCodesMutation,
  RegenerateRecoveryCodesMutationVariables,
  RegisterMutation,
  RegisterMutationVariables,
  RequestPasswordResetMutation,
  RequestPasswordResetMutationVariables,
  ResetPasswordMutation,
  ResetPasswordMutationVariables,
  RoomEventsSubscription,
  RoomEventsSubscriptionVariables,
  RoomMessagesQuery,
  RoomMessagesQueryVariables,
  SendMessageMutation,
  SendMessageMutationVariables,
  SendSignalMutation,
  SendSignalMutationVariables,
  SetTypingMutation,
  SetTypingMutationVariables,
  StartOidcLoginMutation,
  StartOidcLoginMutationVariables,
  UnreactMutation,
  UnreactMutationVariables,
  UpdateCallStateMutation,
  UpdateCallStateMutationVariables,
  UpdateStatusMutation,
  UpdateStatusMutationVariables,
  UserByUsernameQuery,
  UserByUsernameQueryVariables,
  VerifyEmailMutation,
  VerifyEmailMutationVariables,
} from "./generated/graphql";

/** A document's text, carrying its result and variable types (from src/generated/graphql.ts). */
export type Doc<Result, Variables> = string & { readonly __result?: Result; readonly __variables?: Variables };

const USER = /* GraphQL */ `
  fragment UserBits on User { id username displayName status }
`;

const MESSAGE = /* GraphQL */ `
  fragment MessageBits on Message {
    id roomId body createdAt editedAt deletedAt status
    sender { ...UserBits }
    reactions { emoji count users { id } }
  }
  ${USER}
`;

const ROOM_SUMMARY = /* GraphQL */ `
  fragment RoomSummary on Room {
    id kind name topic memberCount unreadCount
    members { user { ...UserBits } lastReadMessageId lastDeliveredMessageId }
    lastMessage { id body deletedAt createdAt sender { displayName } }
  }
`;

export const ME: Doc<MeQuery, MeQueryVariables> = /* GraphQL */ `
  query Me { me { ...UserBits } }
  ${USER}
`;

export const REGISTER: Doc<RegisterMutation, RegisterMutationVariables> = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { token user { ...UserBits } }
  }
  ${USER}
`;

export const LOGIN: Doc<LoginMutation, LoginMutationVariables> = /* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) { token user { ...UserBits } }
  }
  ${USER}
`;

export const LOGOUT: Doc<LogoutMutation, LogoutMutationVariables> = /* GraphQL */ `
  mutation Logout { logout }
`;

export const MY_ROOMS: Doc<MyRoomsQuery, MyRoomsQueryVariables> = /* GraphQL */ `
  query MyRooms($first: Int!, $after: String, $archived: Boolean) {
    myRooms(first: $first, after: $after, archived: $archived) {
      edges { node { ...RoomSummary } }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${ROOM_SUMMARY}
  ${USER}
`;

export const USER_BY_USERNAME: Doc<UserByUsernameQuery, UserByUsernameQueryVariables> = /* GraphQL */ `
  query UserByUsername($username: String!) { userByUsername(username: $username) { ...UserBits } }
  ${USER}
`;

export const OPEN_DIRECT_ROOM: Doc<OpenDirectRoomMutation, OpenDirectRoomMutationVariables> = /* GraphQL */ `
  mutation OpenDirectRoom($userId: UUID!) { openDirectRoom(userId: $userId) { ...RoomSummary } }
  ${ROOM_SUMMARY}
  ${USER}
`;

export const ROOM_MESSAGES: Doc<RoomMessagesQuery, RoomMessagesQueryVariables> = /* GraphQL */ `
  query RoomMessages($id: UUID!, $last: Int!, $before: String) {
    room(id: $id) {
      ...RoomSummary
      messages(last: $last, before: $before) {
        edges { cursor node { ...MessageBits } }
        pageInfo { hasPreviousPage startCursor }
      }
    }
  }
  ${ROOM_SUMMARY}
  ${MESSAGE}
`;

export const SEND_MESSAGE: Doc<SendMessageMutation, SendMessageMutationVariables> = /* GraphQL */ `
  mutation SendMessage($input: SendMessageInput!) { sendMessage(input: $input) { ...MessageBits } }
  ${MESSAGE}
`;

export const EDIT_MESSAGE: Doc<EditMessageMutation, EditMessageMutationVariables> = /* GraphQL */ `
  mutation EditMessage($id: UUID!, $body: String!) { editMessage(id: $id, body: $body) { ...MessageBits } }
  ${MESSAGE}
`;

export const DELETE_MESSAGE: Doc<DeleteMessageMutation, DeleteMessageMutationVariables> = /* GraphQL */ `
  mutation DeleteMessage($id: UUID!) { deleteMessage(id: $id) { ...MessageBits } }
  ${MESSAGE}
`;

export const MARK_READ: Doc<MarkReadMutation, MarkReadMutationVariables> = /* GraphQL */ `
  mutation MarkRead($roomId: UUID!, $messageId: UUID!) {
    markRead(roomId: $roomId, messageId: $messageId) { lastReadMessageId }
  }
`;

export const MARK_DELIVERED: Doc<MarkDeliveredMutation, MarkDeliveredMutationVariables> = /* GraphQL */ `
  mutation MarkDelivered($roomId: UUID!, $messageId: UUID!) {
    markDelivered(roomId: $roomId, messageId: $messageId) { lastDeliveredMessageId }
  }
`;

export const SET_TYPING: Doc<SetTypingMutation, SetTypingMutationVariables> = /* GraphQL */ `
  mutation SetTyping($roomId: UUID!, $typing: Boolean!) { setTyping(roomId: $roomId, typing: $typing) }
`;

export const ROOM_EVENTS: Doc<RoomEventsSubscription, RoomEventsSubscriptionVariables> = /* GraphQL */ `
  subscription RoomEvents($roomId: UUID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MessageAdded { message { ...MessageBits } }
      ... on MessageEdited { message { ...MessageBits } }
      ... on MessageDeleted { message { ...MessageBits } }
      ... on ReactionChanged { message { ...MessageBits } }
      ... on ReceiptUpdated { roomId messageId marker user { ...UserBits } }
      ... on Typing { roomId typing expiresAt user { ...UserBits } }
      ... on MemberJoined { roomId member { user { ...UserBits } } }
      ... on MemberLeft { roomId user { ...UserBits } }
    }
  }
  ${MESSAGE}
`;

export const MY_EVENTS: Doc<MyEventsSubscription, MyEventsSubscriptionVariables> = /* GraphQL */ `
  subscription MyEvents {
    myEvents {
      __typename
      ... on UnreadChanged { roomId unreadCount lastMessage { id body deletedAt createdAt sender { displayName } } }
      ... on RoomAdded { room { ...RoomSummary } }
    }
  }
  ${ROOM_SUMMARY}
  ${USER}
`;

// ---- calls (docs/calls.md) ---------------------------------------------------------------

const PARTICIPANT = /* GraphQL */ `
  fragment ParticipantBits on CallParticipant {
    sessionId muted cameraOff screenSharing handRaised speaking connection
    user { ...UserBits }
  }
  ${USER}
`;

export const JOIN_CALL: Doc<JoinCallMutation, JoinCallMutationVariables> = /* GraphQL */ `
  mutation JoinCall($roomId: UUID!, $input: JoinCallInput) {
    joinCall(roomId: $roomId, input: $input) {
      sessionId
      call { id }
      iceServers { urls username credential expiresAt }
    }
  }
`;

export const LEAVE_CALL: Doc<LeaveCallMutation, LeaveCallMutationVariables> = /* GraphQL */ `
  mutation LeaveCall($sessionId: UUID!) { leaveCall(sessionId: $sessionId) }
`;

export const UPDATE_CALL_STATE: Doc<UpdateCallStateMutation, UpdateCallStateMutationVariables> = /* GraphQL */ `
  mutation UpdateCallState($sessionId: UUID!, $input: CallStateInput!) {
    updateCallState(sessionId: $sessionId, input: $input) { ...ParticipantBits }
  }
  ${PARTICIPANT}
`;

export const SEND_SIGNAL: Doc<SendSignalMutation, SendSignalMutationVariables> = /* GraphQL */ `
  mutation SendSignal($input: SignalInput!) { sendSignal(input: $input) }
`;

export const CALL_EVENTS: Doc<CallEventsSubscription, CallEventsSubscriptionVariables> = /* GraphQL */ `
  subscription CallEvents($roomId: UUID!, $sessionId: UUID) {
    callEvents(roomId: $roomId, sessionId: $sessionId) {
      __typename
      ... on ParticipantJoined { participant { ...ParticipantBits } }
      ... on ParticipantLeft { reason participant { ...ParticipantBits } }
      ... on ParticipantUpdated { participant { ...ParticipantBits } }
      ... on CallEnded { call { id } }
      ... on Signal { fromSessionId kind payload }
    }
  }
  ${PARTICIPANT}
`;

// ---- account: password reset, mailed links, two-factor (auth.ts, account.ts) -------------

export const REQUEST_PASSWORD_RESET: Doc<RequestPasswordResetMutation, RequestPasswordResetMutationVariables> = /* GraphQL */ `
  mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }
`;

export const RESET_PASSWORD: Doc<ResetPasswordMutation, ResetPasswordMutationVariables> = /* GraphQL */ `
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword)
  }
`;

export const CONFIRM_EMAIL_CHANGE: Doc<ConfirmEmailChangeMutation, ConfirmEmailChangeMutationVariables> = /* GraphQL */ `
  mutation ConfirmEmailChange($token: String!) { confirmEmailChange(token: $token) { id email } }
`;

export const VERIFY_EMAIL: Doc<VerifyEmailMutation, VerifyEmailMutationVariables> = /* GraphQL */ `
  mutation VerifyEmail($token: String!) { verifyEmail(token: $token) { id email } }
`;

export const ENABLE_TOTP: Doc<EnableTotpMutation, EnableTotpMutationVariables> = /* GraphQL */ `
  mutation EnableTotp { enableTotp { secret otpauthUri } }
`;

export const CONFIRM_TOTP: Doc<ConfirmTotpMutation, ConfirmTotpMutationVariables> = /* GraphQL */ `
  mutation ConfirmTotp($code: String!) { confirmTotp(code: $code) { id } }
`;

export const REGENERATE_RECOVERY_CODES: Doc<RegenerateRecoveryCodesMutation, RegenerateRecoveryCodesMutationVariables> = /* GraphQL */ `
  mutation RegenerateRecoveryCodes($password: String!) { regenerateRecoveryCodes(password: $password) }
`;

export const DISABLE_TOTP: Doc<DisableTotpMutation, DisableTotpMutationVariables> = /* GraphQL */ `
  mutation DisableTotp($password: String!, $code: String!) { disableTotp(password: $password, code: $code) { id } }
`;

// ---- OpenID Connect sign-in (oidc.ts) ----------------------------------------------------

export const OIDC_PROVIDERS: Doc<OidcProvidersQuery, OidcProvidersQueryVariables> = /* GraphQL */ `
  query OidcProviders { oidcProviders { name displayName } }
`;

export const START_OIDC_LOGIN: Doc<StartOidcLoginMutation, StartOidcLoginMutationVariables> = /* GraphQL */ `
  mutation StartOidcLogin($provider: String!, $redirectUri: String!) {
    startOidcLogin(provider: $provider, redirectUri: $redirectUri) { authorizationUrl state }
  }
`;

export const COMPLETE_OIDC_LOGIN: Doc<CompleteOidcLoginMutation, CompleteOidcLoginMutationVariables> = /* GraphQL */ `
  mutation CompleteOidcLogin($provider: String!, $code: String!, $state: String!) {
    completeOidcLogin(provider: $provider, code: $code, state: $state) { token user { ...UserBits } }
  }
  ${USER}
`;

// ---- leaving (account.ts) ----------------------------------------------------------------

export const EXPORT_MY_DATA: Doc<ExportMyDataMutation, ExportMyDataMutationVariables> = /* GraphQL */ `
  mutation ExportMyData { exportMyData { id url filename size } }
`;

export const DELETE_ACCOUNT: Doc<DeleteAccountMutation, DeleteAccountMutationVariables> = /* GraphQL */ `
  mutation DeleteAccount($password: String!) { deleteAccount(password: $password) }
`;

export const PRESENCE: Doc<PresenceSubscription, PresenceSubscriptionVariables> = /* GraphQL */ `
  subscription Presence($userIds: [UUID!]!) {
    presence(userIds: $userIds) { userId status }
  }
`;

/** The status I chose (User.status is what others see: OFFLINE until my socket is open). */
export const MY_STATUS: Doc<MyStatusQuery, MyStatusQueryVariables> = /* GraphQL */ `
  query MyStatus { me { id chosenStatus } }
`;

export const UPDATE_STATUS: Doc<UpdateStatusMutation, UpdateStatusMutationVariables> = /* GraphQL */ `
  mutation UpdateStatus($status: UserStatus!) {
    updateProfile(input: { status: $status }) { ...UserBits }
  }
  ${USER}
`;

export const REACT: Doc<ReactMutation, ReactMutationVariables> = /* GraphQL */ `
  mutation React($messageId: UUID!, $emoji: String!) {
    react(messageId: $messageId, emoji: $emoji) { ...MessageBits }
  }
  ${MESSAGE}
`;

export const UNREACT: Doc<UnreactMutation, UnreactMutationVariables> = /* GraphQL */ `
  mutation Unreact($messageId: UUID!, $emoji: String!) {
    unreact(messageId: $messageId, emoji: $emoji) { ...MessageBits }
  }
  ${MESSAGE}
`;
