// Talking to Confab: queries and mutations over HTTP POST, subscriptions over one graphql-ws
// socket. The server is the page's own origin (Confab serves this client at /demo/).

import { createClient, type Client } from "graphql-ws";
import type { Doc } from "./documents";

const TOKEN_KEY = "confab.token";

/** A GraphQL error with Confab's `extensions.code` (UNAUTHENTICATED, BAD_USER_INPUT, ...). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Whether this page's session lives in the HttpOnly cookie (nothing in localStorage). */
let cookieSession = false;

/**
 * The session: a bearer token in localStorage, or (signed in with "Keep me signed in with a
 * cookie", on a server with --cookie-sessions) an HttpOnly cookie the page never sees, which
 * the browser sends with every request and the socket's handshake.
 */
export const token = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (value: string) => localStorage.setItem(TOKEN_KEY, value),
  useCookie: () => {
    cookieSession = true;
  },
  inCookie: (): boolean => cookieSession,
  clear: () => {
    localStorage.removeItem(TOKEN_KEY);
    cookieSession = false;
  },
};

/** The Authorization header for the stored token, or none (the cookie, if any, signs in). */
export function authorization(): Record<string, string> {
  const current = token.get();
  return current ? { authorization: `Bearer ${current}` } : {};
}

const httpUrl = new URL("/graphql", location.href).toString();
const wsUrl = httpUrl.replace(/^http/, "ws");

/** Variables are optional for a document that declares none, required otherwise. */
type VariablesArg<V> = {} extends V ? [variables?: V] : [variables: V];

/** Runs one query or mutation; throws ApiError with the first error's code. */
export async function request<T, V>(query: Doc<T, V>, ...[variables]: VariablesArg<V>): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json", ...authorization() };
  const response = await fetch(httpUrl, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables: variables ?? {} }),
  });
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status}`, "NETWORK");
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? "INTERNAL");
  if (!body.data) throw new ApiError("empty response", "INTERNAL");
  return body.data;
}

export interface SocketHooks {
  /** The socket (re)connected: anything missed while it was down should be fetched again. */
  connected: () => void;
  /** The server ended the session (close code 4401 or 4403): sign in again; `why` says why. */
  unauthorized: (why: string) => void;
}

/** Close codes after which reconnecting cannot help: the session is over. */
const SESSION_OVER = [4401, 4403];

/**
 * What to tell the user when the server closed the socket because the session is over:
 * 4401 with the reason `missing`, `expired`, `revoked` or `invalid`, 4403 `banned`.
 */
export function sessionEndedMessage(code: number, reason: string): string {
  if (code === 4403) return "This account has been suspended, so you were signed out.";
  if (reason.includes("revoked")) return "Your session was signed out elsewhere. Sign in again.";
  if (reason.includes("expired")) return "Your session expired. Sign in again.";
  return "You are signed out. Sign in again.";
}

/** One graphql-ws client per signed-in session; the token goes in connection_init. */
export function openSocket(hooks: SocketHooks): Client {
  return createClient({
    url: wsUrl,
    lazy: false,
    retryAttempts: Infinity,
    // Without a token the handshake's cookie signs in (a cookie session).
    connectionParams: () => {
      const current = token.get();
      return current ? { Authorization: `Bearer ${current}` } : {};
    },
    shouldRetry: (event) => !(isCloseEvent(event) && SESSION_OVER.includes(event.code)),
    // The failures not retried are those, which `closed` below handles (signing out);
    // graphql-ws would also print them to the console.
    onNonLazyError: () => {},
    on: {
      connected: () => hooks.connected(),
      closed: (event) => {
        if (isCloseEvent(event) && SESSION_OVER.includes(event.code)) {
          hooks.unauthorized(sessionEndedMessage(event.code, event.reason));
        }
      },
    },
  });
}

function isCloseEvent(value: unknown): value is CloseEvent {
  return typeof value === "object" && value !== null && "code" in value;
}

/** Subscribes and hands each payload's data to `next`; returns the unsubscribe function. */
export function subscribe<T, V extends Record<string, unknown>>(
  client: Client,
  query: Doc<T, V>,
  variables: V,
  next: (data: T) => void,
  failed: (error: unknown) => void,
): () => void {
  return client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) failed(result.errors[0]);
        else if (result.data) next(result.data as T);
      },
      // A socket closed for good fails every subscription with its CloseEvent: the session's
      // end is handled once (SocketHooks.unauthorized); any other close is told in words.
      error: (error) => {
        if (!isCloseEvent(error)) failed(error);
        else if (!SESSION_OVER.includes(error.code)) {
          failed(new Error(`The connection closed (${error.code}${error.reason ? `: ${error.reason}` : ""}).`));
        }
      },
      complete: () => {},
    },
  );
}
