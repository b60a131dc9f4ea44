// Presence dots: who of the people in my rooms is ONLINE, AWAY or OFFLINE, live through the
// `presence(userIds)` subscription, and my own choice (the status picker, `updateProfile`).
// The first statuses come with the room list (User.status); the subscription keeps them
// current, and is renewed whenever the set of people to watch changes.

import type { Client } from "graphql-ws";
import { request, subscribe } from "./api";
import * as doc from "./documents";
import { byTestId, el, showError } from "./dom";
import type { User, UserStatus } from "./types";

/** The server watches at most this many users per subscription. */
const MAX_WATCHED = 200;

const statuses = new Map<string, UserStatus>();
let watched = "";
let stop: (() => void) | null = null;
let changed: () => void = () => {};

/** What to redraw when someone's presence changes (main.ts: the room list and header). */
export function onPresenceChange(hook: () => void) {
  changed = hook;
}

/** Records the statuses that came with a query (room members), without overriding live ones. */
export function seen(users: Iterable<User>) {
  for (const user of users) if (!statuses.has(user.id)) statuses.set(user.id, user.status);
}

/** Watches exactly these users (besides me); a no-op when they are the ones watched already. */
export function watch(socket: Client, userIds: Iterable<string>) {
  const ids = [...new Set(userIds)].sort().slice(0, MAX_WATCHED);
  const key = ids.join(",");
  if (key === watched) return;
  stop?.();
  stop = null;
  watched = key;
  if (ids.length === 0) return;
  stop = subscribe(
    socket,
    doc.PRESENCE,
    { userIds: ids },
    (d) => {
      statuses.set(d.presence.userId, d.presence.status);
      changed();
    },
    showError,
  );
}

/** Stops watching and forgets (signing out). */
export function stopPresence() {
  stop?.();
  stop = null;
  watched = "";
  statuses.clear();
}

/** A dot for `user`'s presence, `data-status` ONLINE, AWAY or OFFLINE. */
export function presenceDot(user: User): HTMLElement {
  const status = statuses.get(user.id) ?? user.status;
  const dot = el("span", { testid: "presence", className: `presence ${status.toLowerCase()}` });
  dot.dataset.status = status;
  dot.dataset.user = user.username;
  dot.title = `${user.displayName}: ${status === "ONLINE" ? "online" : status === "AWAY" ? "away" : "offline"}`;
  return dot;
}

/** Shows the status I chose in the picker, and sends the server a new choice. */
export async function wireStatusPicker() {
  const picker = byTestId<HTMLSelectElement>("my-status");
  const data = await request(doc.MY_STATUS);
  picker.value = data.me?.chosenStatus ?? "ONLINE";
  picker.onchange = () => {
    const status = picker.value as UserStatus;
    request(doc.UPDATE_STATUS, { status }).catch(showError);
  };
}
