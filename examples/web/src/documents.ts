// Every GraphQL document the client sends, in one place so that `npm run validate` can check
// each of them against the server's schema.graphql. Fragments are plain strings appended to
// the operations that use them, so every exported document is complete on its own.

const USER = `
  fragment UserBits on User { id username displayName }
`;

const MESSAGE = `
  fragment MessageBits on Message {
    id roomId body createdAt editedAt deletedAt status
    sender { ...UserBits }
  }
  ${USER}
`;

const ROOM_SUMMARY = `
  fragment RoomSummary on Room {
    id kind name unreadCount
    members { user { ...UserBits } lastReadMessageId lastDeliveredMessageId }
    lastMessage { id body deletedAt createdAt sender { displayName } }
  }
`;

export const ME = `
  query Me { me { ...UserBits } }
  ${USER}
`;

export const REGISTER = `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { token user { ...UserBits } }
  }
  ${USER}
`;

export const LOGIN = `
  mutation Login($input: LoginInput!) {
    login(input: $input) { token user { ...UserBits } }
  }
  ${USER}
`;

export const LOGOUT = `
  mutation Logout { logout }
`;

export const MY_ROOMS = `
  query MyRooms($first: Int!, $after: String, $archived: Boolean) {
    myRooms(first: $first, after: $after, archived: $archived) {
      edges { node { ...RoomSummary } }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${ROOM_SUMMARY}
  ${USER}
`;

export const USER_BY_USERNAME = `
  query UserByUsername($username: String!) { userByUsername(username: $username) { ...UserBits } }
  ${USER}
`;

export const OPEN_DIRECT_ROOM = `
  mutation OpenDirectRoom($userId: UUID!) { openDirectRoom(userId: $userId) { ...RoomSummary } }
  ${ROOM_SUMMARY}
  ${USER}
`;

export const ROOM_MESSAGES = `
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

export const SEND_MESSAGE = `
  mutation SendMessage($input: SendMessageInput!) { sendMessage(input: $input) { ...MessageBits } }
  ${MESSAGE}
`;

export const EDIT_MESSAGE = `
  mutation EditMessage($id: UUID!, $body: String!) { editMessage(id: $id, body: $body) { ...MessageBits } }
  ${MESSAGE}
`;

export const DELETE_MESSAGE = `
  mutation DeleteMessage($id: UUID!) { deleteMessage(id: $id) { ...MessageBits } }
  ${MESSAGE}
`;

export const MARK_READ = `
  mutation MarkRead($roomId: UUID!, $messageId: UUID!) {
    markRead(roomId: $roomId, messageId: $messageId) { lastReadMessageId }
  }
`;

export const MARK_DELIVERED = `
  mutation MarkDelivered($roomId: UUID!, $messageId: UUID!) {
    markDelivered(roomId: $roomId, messageId: $messageId) { lastDeliveredMessageId }
  }
`;

export const SET_TYPING = `
  mutation SetTyping($roomId: UUID!, $typing: Boolean!) { setTyping(roomId: $roomId, typing: $typing) }
`;

export const ROOM_EVENTS = `
  subscription RoomEvents($roomId: UUID!) {
    roomEvents(roomId: $roomId) {
      __typename
      ... on MessageAdded { message { ...MessageBits } }
      ... on MessageEdited { message { ...MessageBits } }
      ... on MessageDeleted { message { ...MessageBits } }
      ... on ReceiptUpdated { roomId messageId marker user { ...UserBits } }
      ... on Typing { roomId typing expiresAt user { ...UserBits } }
      ... on MemberJoined { roomId member { user { ...UserBits } } }
      ... on MemberLeft { roomId user { ...UserBits } }
    }
  }
  ${MESSAGE}
`;

export const MY_EVENTS = `
  subscription MyEvents {
    myEvents {
      __typename
      ... on UnreadChanged { roomId unreadCount }
      ... on RoomAdded { room { ...RoomSummary } }
    }
  }
  ${ROOM_SUMMARY}
  ${USER}
`;

// ---- calls (docs/calls.md) ---------------------------------------------------------------

const PARTICIPANT = `
  fragment ParticipantBits on CallParticipant {
    sessionId muted cameraOff screenSharing handRaised speaking connection
    user { ...UserBits }
  }
  ${USER}
`;

export const JOIN_CALL = `
  mutation JoinCall($roomId: UUID!, $input: JoinCallInput) {
    joinCall(roomId: $roomId, input: $input) {
      sessionId
      call { id }
      iceServers { urls username credential expiresAt }
    }
  }
`;

export const LEAVE_CALL = `
  mutation LeaveCall($sessionId: UUID!) { leaveCall(sessionId: $sessionId) }
`;

export const UPDATE_CALL_STATE = `
  mutation UpdateCallState($sessionId: UUID!, $input: CallStateInput!) {
    updateCallState(sessionId: $sessionId, input: $input) { ...ParticipantBits }
  }
  ${PARTICIPANT}
`;

export const SEND_SIGNAL = `
  mutation SendSignal($input: SignalInput!) { sendSignal(input: $input) }
`;

export const CALL_EVENTS = `
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

export const REQUEST_PASSWORD_RESET = `
  mutation RequestPasswordReset($email: String!) { requestPasswordReset(email: $email) }
`;

export const RESET_PASSWORD = `
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword)
  }
`;

export const CONFIRM_EMAIL_CHANGE = `
  mutation ConfirmEmailChange($token: String!) { confirmEmailChange(token: $token) { id email } }
`;

export const VERIFY_EMAIL = `
  mutation VerifyEmail($token: String!) { verifyEmail(token: $token) { id email } }
`;

export const ENABLE_TOTP = `
  mutation EnableTotp { enableTotp { secret otpauthUri } }
`;

export const CONFIRM_TOTP = `
  mutation ConfirmTotp($code: String!) { confirmTotp(code: $code) { id } }
`;

export const REGENERATE_RECOVERY_CODES = `
  mutation RegenerateRecoveryCodes($password: String!) { regenerateRecoveryCodes(password: $password) }
`;

export const DISABLE_TOTP = `
  mutation DisableTotp($password: String!, $code: String!) { disableTotp(password: $password, code: $code) { id } }
`;

// ---- OpenID Connect sign-in (oidc.ts) ----------------------------------------------------

export const OIDC_PROVIDERS = `
  query OidcProviders { oidcProviders { name displayName } }
`;

export const START_OIDC_LOGIN = `
  mutation StartOidcLogin($provider: String!, $redirectUri: String!) {
    startOidcLogin(provider: $provider, redirectUri: $redirectUri) { authorizationUrl state }
  }
`;

export const COMPLETE_OIDC_LOGIN = `
  mutation CompleteOidcLogin($provider: String!, $code: String!, $state: String!) {
    completeOidcLogin(provider: $provider, code: $code, state: $state) { token user { ...UserBits } }
  }
  ${USER}
`;

// ---- leaving (account.ts) ----------------------------------------------------------------

export const EXPORT_MY_DATA = `
  mutation ExportMyData { exportMyData { id url filename size } }
`;

export const DELETE_ACCOUNT = `
  mutation DeleteAccount($password: String!) { deleteAccount(password: $password) }
`;
