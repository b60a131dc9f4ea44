// Small DOM helpers shared by the screens: elements by `data-testid`, element building, the
// error banner and the notice line, and event wiring that reports failures in the banner.

import { ApiError } from "./api";

let unauthenticated: () => void = () => {};

/** What to do when a request answers UNAUTHENTICATED (main.ts signs out when signed in). */
export function onUnauthenticated(hook: () => void) {
  unauthenticated = hook;
}

export function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`missing element ${id}`);
  return found;
}

export function inputValue(id: string): string {
  return byTestId<HTMLInputElement>(id).value;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { testid?: string; className?: string; text?: string } = {},
  ...children: (Node | null)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.testid) node.dataset.testid = props.testid;
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const child of children) if (child) node.append(child);
  return node;
}

export function showError(error: unknown) {
  const text = error instanceof Error ? error.message : String(error);
  const box = byTestId("error");
  box.textContent = text;
  box.hidden = false;
  if (error instanceof ApiError && error.code === "UNAUTHENTICATED") unauthenticated();
}

export function clearError() {
  byTestId("error").hidden = true;
}

/** A line of information on the sign-in screen ("a link is on its way"); empty hides it. */
export function showNotice(text: string) {
  const notice = byTestId("notice");
  notice.textContent = text;
  notice.hidden = text === "";
}

/** Adds a listener whose failures (thrown or rejected) show in the error banner. */
export function on(testid: string, event: string, handler: (e: Event) => Promise<void> | void) {
  byTestId(testid).addEventListener(event, (e) => {
    try {
      const result = handler(e);
      if (result) result.catch(showError);
    } catch (error) {
      showError(error);
    }
  });
}

/** Shows the one element of `ids` named `visible` and hides the others. */
export function showOnly(ids: string[], visible: string) {
  for (const id of ids) byTestId(id).hidden = id !== visible;
}
