// Reactions under a message: each emoji used so far with its count (mine highlighted), and a
// small fixed set to pick from. Clicking an emoji toggles my reaction (`react`/`unreact`);
// others' reactions arrive as `ReactionChanged` in `roomEvents`, carrying the whole message.

import { request } from "./api";
import * as doc from "./documents";
import { el, showError } from "./dom";
import type { Message } from "./types";

/** The emoji offered in the picker. */
export const PICKS = ["👍", "❤️", "😂", "🎉", "😮"];

/** Whether `userId` reacted to `message` with `emoji`. */
function reacted(message: Message, emoji: string, userId: string | undefined): boolean {
  return message.reactions.some((g) => g.emoji === emoji && g.users.some((u) => u.id === userId));
}

/** Adds my reaction, or removes it when it is there; resolves to the message as it is now. */
export async function toggleReaction(message: Message, emoji: string, myId: string | undefined): Promise<Message> {
  const variables = { messageId: message.id, emoji };
  if (reacted(message, emoji, myId)) return (await request(doc.UNREACT, variables)).unreact;
  return (await request(doc.REACT, variables)).react;
}

/**
 * The reaction row of a message: a button per emoji used (`data-testid="reaction"`, with
 * `data-emoji`, `data-count` and `data-mine`), then the picker's emoji not used yet.
 */
export function reactionRow(
  message: Message,
  myId: string | undefined,
  updated: (message: Message) => void,
): HTMLElement {
  const toggle = (emoji: string) => () =>
    void toggleReaction(message, emoji, myId).then(updated).catch(showError);
  const used = message.reactions.map((group) => {
    const mine = reacted(message, group.emoji, myId);
    const button = el("button", {
      testid: "reaction",
      className: mine ? "reaction mine" : "reaction",
      text: `${group.emoji} ${group.count}`,
    });
    button.dataset.emoji = group.emoji;
    button.dataset.count = String(group.count);
    button.dataset.mine = String(mine);
    button.title = mine ? "Remove your reaction" : "React";
    button.addEventListener("click", toggle(group.emoji));
    return button;
  });
  const picks = PICKS.filter((emoji) => !message.reactions.some((g) => g.emoji === emoji)).map((emoji) => {
    const button = el("button", { testid: "react-pick", className: "react-pick", text: emoji });
    button.dataset.emoji = emoji;
    button.title = `React with ${emoji}`;
    button.addEventListener("click", toggle(emoji));
    return button;
  });
  return el("div", { className: "reactions", testid: "reactions" }, ...used, ...picks);
}
