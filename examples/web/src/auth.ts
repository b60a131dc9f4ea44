// The sign-in screen and the pages mailed links open: sign up, log in (with a two-factor or
// recovery code when the account has two-factor on), "Forgot password?" (requestPasswordReset),
// /demo/reset-password?token=… (resetPassword) and /demo/confirm-email?token=…
// (confirmEmailChange, or verifyEmail for a verification token). Confab serves index.html at
// those two paths (src/http/demo.rs), so `--public-url http://host:port/demo` makes its mailed
// links land here.

import { ApiError, request, token } from "./api";
import * as doc from "./documents";
import { byTestId, clearError, inputValue, on, showNotice, showOnly } from "./dom";
import type { LoginInput } from "./generated/graphql";
import type { User } from "./types";

const VIEWS = ["auth-form", "forgot-form", "reset-form", "confirm-email-form"];
/** `xxxxx-xxxxx`: what regenerateRecoveryCodes hands out; anything else is an app code. */
const RECOVERY_CODE = /^[a-z0-9]{5}-[a-z0-9]{5}$/i;

export interface AuthHooks {
  /** A session was opened: store the token (empty: it is in the cookie) and show the chat. */
  signedIn: (token: string, user: User) => void;
}

/** The client's own root (`/demo/`), whichever of its pages is open. */
export function home(): URL {
  return new URL(".", location.href);
}

/** Back to the sign-in form at the client's root, with `notice` above it. */
export function showSignIn(notice = "") {
  if (location.pathname !== home().pathname) history.replaceState(null, "", home());
  authMode("signin");
  showOnly(VIEWS, "auth-form");
  showNotice(notice);
}

/** Shows the sign-in fields, or the sign-up ones (email, display name). */
function authMode(mode: "signin" | "signup") {
  byTestId("auth-form").dataset.mode = mode;
  clearError();
}

function authFields() {
  return {
    username: inputValue("auth-username").trim(),
    email: inputValue("auth-email").trim(),
    displayName: inputValue("auth-display-name").trim(),
    password: inputValue("auth-password"),
    code: inputValue("auth-code").trim(),
    // "Keep me signed in with a cookie": the session goes in an HttpOnly cookie, not localStorage.
    cookie: byTestId<HTMLInputElement>("auth-cookie").checked || null,
  };
}

async function signUp(hooks: AuthHooks) {
  const f = authFields();
  const input = { username: f.username, email: f.email, password: f.password, displayName: f.displayName || null, cookie: f.cookie };
  const data = await request(doc.REGISTER, { input });
  hooks.signedIn(data.register.token, data.register.user);
}

async function logIn(hooks: AuthHooks) {
  const f = authFields();
  const input: LoginInput = { login: f.username || f.email, password: f.password, cookie: f.cookie };
  if (f.code) input[RECOVERY_CODE.test(f.code) ? "recoveryCode" : "totpCode"] = f.code;
  const data = await request(doc.LOGIN, { input });
  byTestId<HTMLInputElement>("auth-code").value = "";
  hooks.signedIn(data.login.token, data.login.user);
}

async function requestReset() {
  const email = inputValue("forgot-email").trim();
  if (!email) return;
  await request(doc.REQUEST_PASSWORD_RESET, { email });
  showSignIn("If an account has this address, a link is on its way. Open it to choose a new password.");
}

function linkToken(): string {
  return new URLSearchParams(location.search).get("token") ?? "";
}

async function resetPassword() {
  const password = inputValue("reset-password");
  if (password !== inputValue("reset-password-again")) throw new Error("the two passwords differ");
  await request(doc.RESET_PASSWORD, { token: linkToken(), newPassword: password });
  // Every session of the account ended, this browser's too.
  token.clear();
  byTestId<HTMLFormElement>("reset-form").reset();
  showSignIn("Your password is changed and you are signed out everywhere: sign in with the new one.");
}

/** A /confirm-email link carries a confirmEmailChange token, or a verifyEmail one. */
async function confirmEmail() {
  const value = linkToken();
  let user: { email: string | null };
  try {
    user = (await request(doc.CONFIRM_EMAIL_CHANGE, { token: value }))
      .confirmEmailChange;
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "BAD_USER_INPUT") throw error;
    user = (await request(doc.VERIFY_EMAIL, { token: value })).verifyEmail;
  }
  showSignIn(`Your address ${user.email ?? ""} is confirmed.`);
}

/**
 * Shows the page the URL names: the reset or confirm form for a mailed link (true: the
 * caller should not go on to the chat), else the sign-in form (false).
 */
export function route(): boolean {
  const page = location.pathname.slice(home().pathname.length);
  const known = page === "reset-password" || page === "confirm-email";
  if (known && !linkToken()) {
    showSignIn();
    throw new Error("this link has no token: open the whole link from the mail");
  }
  if (page === "reset-password") showOnly(VIEWS, "reset-form");
  else if (page === "confirm-email") showOnly(VIEWS, "confirm-email-form");
  else showOnly(VIEWS, "auth-form");
  return known;
}

export function wireAuth(hooks: AuthHooks) {
  // One form, two modes: signing in (Enter logs in), or creating an account (more fields).
  on("auth-form", "submit", (e) => {
    e.preventDefault();
    return byTestId("auth-form").dataset.mode === "signup" ? signUp(hooks) : logIn(hooks);
  });
  on("signup-mode", "click", () => authMode("signup"));
  on("signin-mode", "click", () => authMode("signin"));
  on("forgot-open", "click", () => {
    clearError();
    showNotice("");
    const email = inputValue("auth-email").trim() || (inputValue("auth-username").includes("@") ? inputValue("auth-username").trim() : "");
    byTestId<HTMLInputElement>("forgot-email").value = email;
    showOnly(VIEWS, "forgot-form");
    byTestId("forgot-email").focus();
  });
  on("forgot-form", "submit", (e) => {
    e.preventDefault();
    return requestReset();
  });
  on("reset-form", "submit", (e) => {
    e.preventDefault();
    return resetPassword();
  });
  on("confirm-email-form", "submit", (e) => {
    e.preventDefault();
    return confirmEmail();
  });
  for (const back of ["forgot-back", "reset-back", "confirm-back"]) on(back, "click", () => showSignIn());
}
