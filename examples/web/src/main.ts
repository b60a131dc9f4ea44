// The chat client: the room list with live unread badges, and one open room with paged
// history, live messages, edits, deletes, typing, read receipts and ✓/✓✓ delivery status on my
// own messages, and its call (call.ts). The sign-in screen and the pages of mailed links are in
// auth.ts, "Sign in with <provider>" in oidc.ts, the account page in account.ts. Plain DOM, no
// framework; every element a test needs has a `data-testid`.

import type { Client } from "graphql-ws";
import { closeAccount, wireAccount } from "./account";
import { openSocket, request, subscribe, token } from "./api";
import { route, showSignIn, wireAuth } from "./auth";
import { closeCall, openCall, wireCallButtons } from "./call";
import { withDividers } from "./days";
import * as doc from "./documents";
import { byTestId, clearError, el, on, onUnauthenticated, showError } from "./dom";
import { completeFromUrl, showProviders } from "./oidc";
import { onPresenceChange, presenceDot, seen, stopPresence, watch, wireStatusPicker } from "./presence";
import { reactionRow } from "./reactions";
import { arrivedUnmarked, statuses } from "./receipts";
import type { Message, MessageStatus, MyEvent, RoomEvent, RoomSummary, User } from "./types";

const PAGE = 30;
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;

interface OpenRoom {
  id: string;
  messages: Map<string, Message>;
  startCursor: string | null;
  hasPrevious: boolean;
  loadingOlder: boolean;
  /** Other members' read markers: user id -> (user, message id). */
  readBy: Map<string, { user: User; messageId: string }>;
  /** Other members' delivered markers: user id -> message id. */
  deliveredTo: Map<string, string>;
  typing: Map<string, { user: User; timer: number }>;
  myLastRead: string | null;
  myLastDelivered: string | null;
  editing: string | null;
  stop: () => void;
}

let me: User | null = null;
let socket: Client | null = null;
let stopMyEvents: (() => void) | null = null;
const rooms = new Map<string, RoomSummary>();
let order: string[] = [];
let current: OpenRoom | null = null;
let typingSentAt = 0;
let typingIdle = 0;

function timeOf(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function roomTitle(room: RoomSummary): string {
  if (room.name) return room.name;
  const others = room.members.filter((m) => m.user.id !== me?.id).map((m) => m.user.displayName);
  return others.join(", ") || "Just you";
}

// ---- signing in and out ------------------------------------------------------------------

/** A session was opened: its token to keep, or empty when it lives in the HttpOnly cookie. */
function signedIn(newToken: string, user: User) {
  if (newToken) token.set(newToken);
  else token.useCookie();
  start(user);
}

function start(user: User) {
  me = user;
  clearError();
  byTestId("me").textContent = `${user.displayName} (@${user.username})`;
  wireStatusPicker().catch(showError);
  byTestId("auth").hidden = true;
  byTestId("chat").hidden = false;
  // A socket closed after its session ended (logout revokes it: 4401) must not sign out the
  // next session, so only the current socket's 4401 counts. The sign-in screen says why
  // (signed out elsewhere, expired, suspended).
  const opened = openSocket({
    connected: onConnected,
    unauthorized: (why) => {
      if (socket !== opened) return;
      // The session is gone already: no logout to send.
      token.clear();
      void signOut().then(() => {
        clearError();
        showSignIn(why);
      });
    },
  });
  socket = opened;
}

let signingOut: Promise<void> | null = null;

/** Back to the sign-in screen; a second call while one runs (a 4401 close, say) joins it. */
function signOut(): Promise<void> {
  signingOut ??= leave().finally(() => {
    signingOut = null;
  });
  return signingOut;
}

async function leave() {
  const hadSession = token.get() !== null || token.inCookie();
  closeRoom();
  stopMyEvents?.();
  stopMyEvents = null;
  stopPresence();
  void socket?.dispose();
  socket = null;
  // Logout revokes the session (and clears the cookie, for a cookie session).
  if (hadSession) await request(doc.LOGOUT).catch(() => {});
  token.clear();
  me = null;
  rooms.clear();
  order = [];
  renderRooms();
  closeAccount();
  delete document.body.dataset.live;
  byTestId("chat").hidden = true;
  byTestId("auth").hidden = false;
  showSignIn();
}

/** Runs on every (re)connect: subscriptions resume by themselves, missed state is refetched. */
function onConnected() {
  if (!socket) return;
  if (!stopMyEvents) {
    stopMyEvents = subscribe(socket, doc.MY_EVENTS, {}, (d) => onMyEvent(d.myEvents), showError);
  }
  loadRooms()
    .then(() => {
      document.body.dataset.live = "true";
      if (current) return loadLatest(current);
    })
    .catch(showError);
}

// ---- the room list -----------------------------------------------------------------------

// The list shows the rooms not archived, or (the checkbox ticked) only the archived ones.
async function loadRooms() {
  const archived = (byTestId("show-archived") as HTMLInputElement).checked;
  const data = await request(doc.MY_ROOMS, {
    first: 100,
    archived,
  });
  rooms.clear();
  order = [];
  for (const { node } of data.myRooms.edges) {
    rooms.set(node.id, node);
    order.push(node.id);
  }
  renderRooms();
  // A member joined or left the open room: its header counts them again.
  const open = current && rooms.get(current.id);
  if (open) renderHeader(open);
}

function putRoomFirst(room: RoomSummary) {
  rooms.set(room.id, room);
  order = [room.id, ...order.filter((id) => id !== room.id)];
}

function onMyEvent(event: MyEvent) {
  if (event.__typename === "RoomAdded") {
    putRoomFirst(event.room);
  } else if (event.__typename === "UnreadChanged") {
    const room = rooms.get(event.roomId);
    if (!room) {
      loadRooms().catch(showError);
      return;
    }
    if (event.unreadCount > room.unreadCount) putRoomFirst(room);
    // Messages changed there: the event brings the room's newest one for the preview (null
    // when only reading moved the count).
    if (event.lastMessage) room.lastMessage = event.lastMessage;
    room.unreadCount = current?.id === room.id ? 0 : event.unreadCount;
  }
  renderRooms();
}

/** The other members of a room, each shown with a presence dot in the list. */
function othersIn(room: RoomSummary): User[] {
  return room.members.map((m) => m.user).filter((user) => user.id !== me?.id);
}

function renderRooms() {
  const everyone = [...rooms.values()].flatMap(othersIn);
  seen(everyone);
  if (socket) watch(socket, everyone.map((user) => user.id));
  const list = byTestId("room-list");
  list.replaceChildren(
    ...order.flatMap((id) => {
      const room = rooms.get(id);
      if (!room) return [];
      const preview = room.lastMessage
        ? room.lastMessage.deletedAt
          ? "message deleted"
          : `${room.lastMessage.sender?.displayName ?? ""}: ${room.lastMessage.body ?? ""}`
        : "no messages yet";
      const item = el(
        "button",
        { testid: "room-item", className: id === current?.id ? "room-link active" : "room-link" },
        el(
          "span",
          { className: "room-name" },
          // A direct room's dot is the other person's; a group's, each member's (up to five).
          ...othersIn(room).slice(0, 5).map(presenceDot),
          el("span", { testid: "room-name", text: roomTitle(room) }),
        ),
        room.unreadCount > 0 && id !== current?.id
          ? el("span", { className: "badge", testid: "unread-badge", text: String(room.unreadCount) })
          : null,
        el("span", { className: "preview", testid: "room-preview", text: preview }),
      );
      item.dataset.roomId = id;
      item.addEventListener("click", () => void openRoom(id).catch(showError));
      return [el("li", {}, item)];
    }),
  );
}

async function openDirect() {
  const input = byTestId<HTMLInputElement>("direct-username");
  const username = input.value.trim().replace(/^@/, "");
  if (!username) return;
  const found = await request(doc.USER_BY_USERNAME, { username });
  if (!found.userByUsername) throw new Error(`nobody is called @${username}`);
  const data = await request(doc.OPEN_DIRECT_ROOM, {
    userId: found.userByUsername.id,
  });
  input.value = "";
  putRoomFirst(data.openDirectRoom);
  renderRooms();
  await openRoom(data.openDirectRoom.id);
}

// ---- one open room -----------------------------------------------------------------------

function closeRoom() {
  if (!current) return;
  closeCall();
  current.stop();
  for (const { timer } of current.typing.values()) clearTimeout(timer);
  current = null;
  byTestId("room").hidden = true;
  byTestId("no-room").hidden = false;
}

async function openRoom(id: string) {
  if (!socket || current?.id === id) return;
  closeRoom();
  closeAccount();
  const room: OpenRoom = {
    id,
    messages: new Map(),
    startCursor: null,
    hasPrevious: false,
    loadingOlder: false,
    readBy: new Map(),
    deliveredTo: new Map(),
    typing: new Map(),
    myLastRead: null,
    myLastDelivered: null,
    editing: null,
    stop: () => {},
  };
  current = room;
  // Subscribe before loading the history, so nothing written in between is missed; the
  // history and the live events meet in one map keyed by message id.
  room.stop = subscribe(
    socket,
    doc.ROOM_EVENTS,
    { roomId: id },
    (d) => onRoomEvent(room, d.roomEvents),
    showError,
  );
  openCall(id, socket, { me: () => me, showError });
  const list = byTestId("messages");
  delete list.dataset.ready;
  list.replaceChildren();
  byTestId("no-room").hidden = true;
  byTestId("room").hidden = false;
  renderHeader(rooms.get(id) ?? fallbackRoom(id));
  renderTyping(room);
  renderRooms();
  await loadLatest(room);
  if (current !== room) return;
  list.dataset.ready = "true";
  scrollToBottom();
  byTestId<HTMLTextAreaElement>("composer").focus();
}

function fallbackRoom(id: string): RoomSummary {
  return { id, kind: "GROUP", name: "…", topic: null, memberCount: 0, unreadCount: 0, members: [], lastMessage: null };
}

/** The open room's header: its title, then how many members and its topic. */
function renderHeader(room: RoomSummary) {
  byTestId("room-title").textContent = roomTitle(room);
  const count = room.memberCount === 1 ? "1 member" : `${room.memberCount} members`;
  byTestId("room-info").textContent = room.topic ? `${count} · ${room.topic}` : count;
}

/** The newest page, merged into what is shown (first open, and after a reconnect). */
async function loadLatest(room: OpenRoom) {
  const data = await request(doc.ROOM_MESSAGES, {
    id: room.id,
    last: PAGE,
  });
  if (current !== room) return;
  if (!data.room) throw new Error("this room is gone");
  const { messages, ...summary } = data.room;
  summary.unreadCount = 0;
  rooms.set(room.id, summary);
  renderHeader(summary);
  for (const member of summary.members) {
    if (member.user.id === me?.id) {
      room.myLastRead = member.lastReadMessageId;
      room.myLastDelivered = member.lastDeliveredMessageId;
      continue;
    }
    if (member.lastReadMessageId) {
      room.readBy.set(member.user.id, { user: member.user, messageId: member.lastReadMessageId });
    }
    if (member.lastDeliveredMessageId) room.deliveredTo.set(member.user.id, member.lastDeliveredMessageId);
  }
  for (const { node } of messages.edges) room.messages.set(node.id, node);
  if (room.startCursor === null) {
    room.startCursor = messages.pageInfo.startCursor;
    room.hasPrevious = messages.pageInfo.hasPreviousPage;
  }
  renderMessages(room);
  renderRooms();
}

/** The page before the oldest shown: called when the list is scrolled to the top. */
async function loadOlder(room: OpenRoom) {
  if (room.loadingOlder || !room.hasPrevious || !room.startCursor) return;
  room.loadingOlder = true;
  try {
    const data = await request(doc.ROOM_MESSAGES, {
      id: room.id,
      last: PAGE,
      before: room.startCursor,
    });
    if (current !== room || !data.room) return;
    const page = data.room.messages;
    for (const { node } of page.edges) room.messages.set(node.id, node);
    room.startCursor = page.pageInfo.startCursor ?? room.startCursor;
    room.hasPrevious = page.pageInfo.hasPreviousPage;
    // Keep the message the reader was looking at where it was.
    const list = byTestId("messages");
    const fromBottom = list.scrollHeight - list.scrollTop;
    renderMessages(room);
    list.scrollTop = list.scrollHeight - fromBottom;
  } finally {
    room.loadingOlder = false;
  }
}

function onRoomEvent(room: OpenRoom, event: RoomEvent) {
  if (current !== room) return;
  switch (event.__typename) {
    case "MessageAdded":
    case "MessageEdited":
    case "MessageDeleted": {
      const message = event.message;
      const atBottom = isAtBottom();
      room.messages.set(message.id, message);
      if (event.__typename === "MessageAdded" && message.sender) stopTyping(room, message.sender.id);
      const summary = rooms.get(room.id);
      if (summary && (!summary.lastMessage || summary.lastMessage.id === message.id || event.__typename === "MessageAdded")) {
        summary.lastMessage = message;
        if (event.__typename === "MessageAdded") putRoomFirst(summary);
        renderRooms();
      }
      renderMessages(room);
      if (atBottom) scrollToBottom();
      break;
    }
    case "ReactionChanged":
      room.messages.set(event.message.id, event.message);
      renderMessages(room);
      break;
    case "ReceiptUpdated":
      if (event.user.id === me?.id) {
        if (event.marker === "READ") room.myLastRead = event.messageId;
        else room.myLastDelivered = event.messageId;
      } else if (event.marker === "READ") {
        room.readBy.set(event.user.id, { user: event.user, messageId: event.messageId });
      } else {
        room.deliveredTo.set(event.user.id, event.messageId);
      }
      renderMessages(room);
      break;
    case "Typing":
      if (event.user.id === me?.id) break;
      if (!event.typing) {
        stopTyping(room, event.user.id);
        break;
      }
      {
        const previous = room.typing.get(event.user.id);
        if (previous) clearTimeout(previous.timer);
        // expiresAt is the server's clock; bound it in case the two clocks disagree.
        const wait = Math.min(Math.max(Date.parse(event.expiresAt) - Date.now(), 1000), 10_000);
        const timer = window.setTimeout(() => stopTyping(room, event.user.id), wait);
        room.typing.set(event.user.id, { user: event.user, timer });
        renderTyping(room);
      }
      break;
    case "MemberJoined":
    case "MemberLeft":
      loadRooms().catch(showError);
      break;
    default:
      break;
  }
}

function stopTyping(room: OpenRoom, userId: string) {
  const entry = room.typing.get(userId);
  if (!entry) return;
  clearTimeout(entry.timer);
  room.typing.delete(userId);
  renderTyping(room);
}

function renderTyping(room: OpenRoom) {
  const names = [...room.typing.values()].map((t) => t.user.displayName);
  const line = byTestId("typing");
  line.textContent =
    names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
}

function sortedMessages(room: OpenRoom): Message[] {
  return [...room.messages.values()].sort((a, b) => {
    const byTime = Date.parse(a.createdAt) - Date.parse(b.createdAt);
    return byTime !== 0 ? byTime : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

function renderMessages(room: OpenRoom) {
  const list = byTestId("messages");
  const messages = sortedMessages(room);
  const seenAt = new Map<string, User[]>();
  for (const { user, messageId } of room.readBy.values()) {
    seenAt.set(messageId, [...(seenAt.get(messageId) ?? []), user]);
  }
  // Who has read up to a message, its sender left out (sending one's own marks it read).
  const seenBy = (message: Message) => {
    const names = (seenAt.get(message.id) ?? [])
      .filter((user) => user.id !== message.sender?.id)
      .map((user) => user.displayName);
    return names.length > 0 ? names : undefined;
  };
  const others = (rooms.get(room.id)?.members ?? []).map((m) => m.user.id).filter((id) => id !== me?.id);
  const status = statuses(messages, me?.id, others, {
    read: (user) => room.readBy.get(user)?.messageId,
    delivered: (user) => room.deliveredTo.get(user),
  });
  const older = room.hasPrevious
    ? el("button", { testid: "load-older", className: "load-older", text: "Load older messages" })
    : null;
  older?.addEventListener("click", () => void loadOlder(room).catch(showError));
  list.replaceChildren(
    ...(older ? [older] : []),
    ...withDividers(messages, (message) =>
      renderMessage(room, message, seenBy(message), status.get(message.id) ?? null),
    ),
  );
  const input = list.querySelector<HTMLInputElement>('[data-testid="edit-input"]');
  if (input) {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }
  markShownAsRead(room, messages);
}

function renderMessage(
  room: OpenRoom,
  message: Message,
  seenBy: string[] | undefined,
  status: MessageStatus | null,
): HTMLElement {
  const mine = message.sender?.id === me?.id;
  const item = el("li", { testid: "message", className: mine ? "message mine" : "message" });
  item.dataset.messageId = message.id;
  item.dataset.sender = message.sender?.username ?? "";
  const meta = el(
    "div",
    { className: "meta" },
    el("span", { className: "sender", text: message.sender?.displayName ?? "someone" }),
    el("time", { text: timeOf(message.createdAt) }),
    message.editedAt && !message.deletedAt ? el("span", { testid: "message-edited", className: "edited", text: "edited" }) : null,
    status && status !== "SENT" ? statusMark(status) : null,
  );
  item.append(meta);
  if (message.deletedAt) {
    item.dataset.deleted = "true";
    item.append(el("div", { testid: "message-body", className: "body deleted", text: "message deleted" }));
  } else if (room.editing === message.id) {
    const input = el("input", { testid: "edit-input", className: "edit-input" });
    input.value = message.body ?? "";
    const save = el("button", { testid: "edit-save", text: "Save" });
    const cancel = el("button", { testid: "edit-cancel", className: "quiet", text: "Cancel" });
    const submit = () => void saveEdit(room, message.id, input.value).catch(showError);
    save.addEventListener("click", submit);
    cancel.addEventListener("click", () => {
      room.editing = null;
      renderMessages(room);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") submit();
      if (e.key === "Escape") cancel.click();
    });
    item.append(el("div", { className: "edit" }, input, save, cancel));
  } else {
    item.append(el("div", { testid: "message-body", className: "body", text: message.body ?? "" }));
    item.append(
      reactionRow(message, me?.id, (updated) => {
        room.messages.set(updated.id, updated);
        if (current === room) renderMessages(room);
      }),
    );
    if (mine) {
      const edit = el("button", { testid: "message-edit", className: "quiet", text: "Edit" });
      const remove = el("button", { testid: "message-delete", className: "quiet", text: "Delete" });
      edit.addEventListener("click", () => {
        room.editing = message.id;
        renderMessages(room);
      });
      remove.addEventListener("click", () => void removeMessage(message.id).catch(showError));
      item.append(el("div", { className: "actions" }, edit, remove));
    }
  }
  if (seenBy) item.append(el("div", { testid: "receipt", className: "receipt", text: `Seen by ${seenBy.join(", ")}` }));
  return item;
}

/** ✓ delivered to every other member, ✓✓ read by all of them. */
function statusMark(status: MessageStatus): HTMLElement {
  const mark = el("span", {
    testid: "message-status",
    className: `status ${status.toLowerCase()}`,
    text: status === "READ" ? "✓✓" : "✓",
  });
  mark.dataset.status = status;
  mark.title = status === "READ" ? "Read" : "Delivered";
  return mark;
}

/**
 * Moves my read marker to the newest message someone else wrote, once it is on screen; while
 * the page is hidden, only my delivered marker (the message reached this device).
 */
function markShownAsRead(room: OpenRoom, messages: Message[]) {
  if (document.visibilityState !== "visible") {
    markArrived(room, messages);
    return;
  }
  const newest = [...messages].reverse().find((m) => m.sender?.id !== me?.id && !m.deletedAt);
  if (!newest || newest.id === room.myLastRead) return;
  const myIndex = messages.findIndex((m) => m.id === room.myLastRead);
  if (myIndex >= messages.findIndex((m) => m.id === newest.id)) return;
  room.myLastRead = newest.id;
  request(doc.MARK_READ, { roomId: room.id, messageId: newest.id }).catch(showError);
}

/** Moves my delivered marker to the newest message someone else wrote (reading implies it). */
function markArrived(room: OpenRoom, messages: Message[]) {
  const newest = arrivedUnmarked(messages, me?.id, [room.myLastDelivered, room.myLastRead]);
  if (!newest) return;
  room.myLastDelivered = newest.id;
  request(doc.MARK_DELIVERED, { roomId: room.id, messageId: newest.id }).catch(showError);
}

function isAtBottom(): boolean {
  const list = byTestId("messages");
  return list.scrollHeight - list.scrollTop - list.clientHeight < 60;
}

function scrollToBottom() {
  const list = byTestId("messages");
  list.scrollTop = list.scrollHeight;
}

// ---- writing -----------------------------------------------------------------------------

async function send() {
  const room = current;
  const composer = byTestId<HTMLTextAreaElement>("composer");
  const body = composer.value.trim();
  if (!room || !body) return;
  composer.value = "";
  typingSentAt = 0;
  clearTimeout(typingIdle);
  try {
    const data = await request(doc.SEND_MESSAGE, { input: { roomId: room.id, body } });
    if (current !== room) return;
    room.messages.set(data.sendMessage.id, data.sendMessage);
    renderMessages(room);
    scrollToBottom();
  } catch (error) {
    composer.value = body;
    throw error;
  }
}

async function saveEdit(room: OpenRoom, id: string, body: string) {
  const data = await request(doc.EDIT_MESSAGE, { id, body: body.trim() });
  room.editing = null;
  room.messages.set(id, data.editMessage);
  renderMessages(room);
}

async function removeMessage(id: string) {
  const data = await request(doc.DELETE_MESSAGE, { id });
  if (current) {
    current.messages.set(id, data.deleteMessage);
    renderMessages(current);
  }
}

/** Tells the room I am typing, at most every few seconds, and that I stopped when idle. */
function typed() {
  const room = current;
  if (!room) return;
  const empty = byTestId<HTMLTextAreaElement>("composer").value.trim() === "";
  clearTimeout(typingIdle);
  const setTyping = (typing: boolean) => request(doc.SET_TYPING, { roomId: room.id, typing }).catch(showError);
  if (empty) {
    if (typingSentAt) void setTyping(false);
    typingSentAt = 0;
    return;
  }
  if (Date.now() - typingSentAt > TYPING_REPEAT_MS) {
    typingSentAt = Date.now();
    void setTyping(true);
  }
  typingIdle = window.setTimeout(() => {
    typingSentAt = 0;
    void setTyping(false);
  }, TYPING_IDLE_MS);
}

// ---- wiring ------------------------------------------------------------------------------

onPresenceChange(() => renderRooms());
onUnauthenticated(() => {
  if (me) void signOut();
});
wireAuth({ signedIn });
wireAccount({
  closeRoom,
  deleted: async (notice) => {
    // The session is gone with the account: no logout to send.
    token.clear();
    await signOut();
    showSignIn(notice);
  },
});
on("logout", "click", () => signOut());
on("room-back", "click", () => {
  closeRoom();
  renderRooms();
});
on("error", "click", () => clearError());
on("show-archived", "change", () => loadRooms());
on("direct-form", "submit", (e) => {
  e.preventDefault();
  return openDirect();
});
on("composer-form", "submit", (e) => {
  e.preventDefault();
  return send();
});
on("composer", "keydown", (e) => {
  const key = e as KeyboardEvent;
  if (key.key === "Enter" && !key.shiftKey) {
    key.preventDefault();
    return send();
  }
});
on("composer", "input", () => typed());
on("messages", "scroll", () => {
  if (current && byTestId("messages").scrollTop < 40) return loadOlder(current);
});
wireCallButtons(on);
document.addEventListener("visibilitychange", () => {
  if (current) markShownAsRead(current, sortedMessages(current));
});

async function boot() {
  // A mailed link's page (reset password, confirm email) comes before the chat.
  if (route()) return;
  showProviders().catch(showError);
  // Back from an OpenID provider with ?code&state: that sign-in wins over a stored token.
  if (await completeFromUrl(signedIn)) return;
  // Signed in by a stored token, or (no token) by the session cookie if there is one.
  const data = await request(doc.ME);
  if (data.me) signedIn(token.get() ?? "", data.me);
  else token.clear();
}

boot().catch(showError);
