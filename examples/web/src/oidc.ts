// "Sign in with <provider>": one button per entry of `oidcProviders` (none: no buttons). A
// click asks Confab for the provider's authorization URL (startOidcLogin, with this page's URL
// as the redirect URI, which must be on the provider's allow-list), keeps {provider, state} in
// sessionStorage and goes there. The provider sends the browser back here with ?code&state:
// completeOidcLogin signs in as login does, and code and state leave the address bar.

import { request } from "./api";
import { home } from "./auth";
import * as doc from "./documents";
import { byTestId, el, showError } from "./dom";
import type { User } from "./types";

const PENDING_KEY = "confab.oidc";
/** What a provider adds to the redirect URI (RFC 6749 4.1.2, RFC 9207 `iss`). */
const RETURN_PARAMS = ["code", "state", "iss", "session_state", "error", "error_description", "error_uri"];

interface Provider {
  name: string;
  displayName: string;
}

/** Fills the sign-in screen's provider buttons; hides the box when there are none. */
export async function showProviders() {
  const data = await request(doc.OIDC_PROVIDERS);
  const box = byTestId("oidc-providers");
  box.replaceChildren(
    ...data.oidcProviders.map((provider) => {
      const button = el("button", { testid: "oidc-login", className: "provider", text: `Sign in with ${provider.displayName}` });
      button.type = "button";
      button.dataset.provider = provider.name;
      button.addEventListener("click", () => void start(provider).catch(showError));
      return button;
    }),
  );
  box.hidden = data.oidcProviders.length === 0;
}

async function start(provider: Provider) {
  const data = await request(doc.START_OIDC_LOGIN, {
    provider: provider.name,
    redirectUri: home().href,
  });
  const { authorizationUrl, state } = data.startOidcLogin;
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ provider: provider.name, state }));
  location.assign(authorizationUrl);
}

/**
 * On a page the provider sent back (?code&state, or ?error&state): signs in and returns true.
 * Returns false on any other page. Either way code and state leave the address bar.
 */
export async function completeFromUrl(signedIn: (token: string, user: User) => void): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const state = params.get("state");
  const error = params.get("error");
  if (!state || (!code && !error)) return false;
  const stored = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const clean = new URL(location.href);
  for (const name of RETURN_PARAMS) clean.searchParams.delete(name);
  history.replaceState(null, "", clean);

  let pending: { provider?: unknown; state?: unknown } | null = null;
  try {
    pending = stored ? JSON.parse(stored) : null;
  } catch {
    pending = null;
  }
  if (error) {
    const why = params.get("error_description") || error;
    throw new Error(`the provider did not sign you in: ${why}`);
  }
  if (!pending || typeof pending.provider !== "string" || pending.state !== state || !code) {
    throw new Error("this sign-in was not started in this tab (or was already used): start it again");
  }
  const data = await request(doc.COMPLETE_OIDC_LOGIN, {
    provider: pending.provider,
    code,
    state,
  });
  signedIn(data.completeOidcLogin.token, data.completeOidcLogin.user);
  return true;
}
