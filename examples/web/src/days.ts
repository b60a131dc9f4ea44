// Date dividers in a room's history: "Today", "Yesterday", else the date, before the first
// message of each day (the reader's local day).

import { el } from "./dom";

function dayKey(date: Date): string {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** "Today", "Yesterday", or the date ("Friday, 4 December 2026" in the reader's locale). */
export function dayLabel(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (dayKey(date) === dayKey(now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString([], {
    weekday: "long",
    day: "numeric",
    month: "long",
    ...(sameYear ? {} : { year: "numeric" }),
  });
}

/** `messages` rendered (oldest first) with a divider before each new day's first. */
export function withDividers<T extends { createdAt: string }>(
  messages: T[],
  render: (message: T) => HTMLElement,
): HTMLElement[] {
  const out: HTMLElement[] = [];
  let previous = "";
  for (const message of messages) {
    const key = dayKey(new Date(message.createdAt));
    if (key !== previous) {
      out.push(el("li", { testid: "day-divider", className: "day-divider", text: dayLabel(message.createdAt) }));
      previous = key;
    }
    out.push(render(message));
  }
  return out;
}
