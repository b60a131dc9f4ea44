// Delivery status of my own messages: ✓ once every other member has a message delivered,
// ✓✓ once every one of them has read it (the server's `Message.status` rule), kept current
// from the receipts that arrive live.

import type { Message, MessageStatus } from "./types";

const RANK: Record<MessageStatus, number> = { SENT: 0, DELIVERED: 1, READ: 2 };

/** Where the other members' markers are: user id -> message id. */
export interface Markers {
  read: (userId: string) => string | undefined;
  delivered: (userId: string) => string | undefined;
}

/**
 * The status of each of my (undeleted) messages among `messages` (sorted oldest first): what
 * the server said when the message arrived, moved on by the markers seen since. A marker on a
 * message not shown is older than everything shown.
 */
export function statuses(
  messages: Message[],
  meId: string | undefined,
  others: string[],
  markers: Markers,
): Map<string, MessageStatus> {
  const index = new Map(messages.map((m, i) => [m.id, i]));
  const at = (id: string | undefined) => (id ? (index.get(id) ?? -1) : -1);
  // The oldest position every other member has read, and has received.
  let read = others.length > 0 ? Infinity : -1;
  let delivered = read;
  for (const user of others) {
    const readAt = at(markers.read(user));
    read = Math.min(read, readAt);
    delivered = Math.min(delivered, Math.max(readAt, at(markers.delivered(user))));
  }
  const found = new Map<string, MessageStatus>();
  messages.forEach((message, i) => {
    if (message.sender?.id !== meId || message.deletedAt) return;
    const computed: MessageStatus = read >= i ? "READ" : delivered >= i ? "DELIVERED" : "SENT";
    found.set(message.id, RANK[computed] > RANK[message.status] ? computed : message.status);
  });
  return found;
}

/** The position of the newest message someone else wrote that my markers have not reached. */
export function arrivedUnmarked(
  messages: Message[],
  meId: string | undefined,
  myMarkers: (string | null)[],
): Message | null {
  let newest = messages.length - 1;
  while (newest >= 0 && (messages[newest].sender?.id === meId || messages[newest].deletedAt)) newest -= 1;
  if (newest < 0) return null;
  const reached = Math.max(...myMarkers.map((id) => (id ? messages.findIndex((m) => m.id === id) : -1)));
  return reached >= newest ? null : messages[newest];
}
