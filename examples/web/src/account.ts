// The account page (the "Account" button beside "Log out"): two-factor sign-in set up with an
// authenticator app (enableTotp, confirmTotp) and, right after, ten recovery codes to save
// (regenerateRecoveryCodes, which needs the password); new recovery codes later; two-factor off
// (disableTotp); downloading one's data (exportMyData, then the archive's blob URL with the
// session's token); and deleting the account (deleteAccount, with the password).

import { authorization, request } from "./api";
import * as doc from "./documents";
import { byTestId, el, inputValue, on } from "./dom";

export interface AccountHooks {
  /** Called before the page shows: the open room (and its call) should close. */
  closeRoom: () => void;
  /** The account is gone: back to the sign-in screen with this notice. */
  deleted: (notice: string) => Promise<void>;
}

function notice(text: string) {
  const line = byTestId("account-notice");
  line.textContent = text;
  line.hidden = text === "";
}

export function openAccount(hooks: AccountHooks) {
  hooks.closeRoom();
  byTestId("no-room").hidden = true;
  byTestId("account").hidden = false;
}

/** Hides the page and forgets what it showed (codes, secrets, passwords typed). */
export function closeAccount() {
  const page = byTestId("account");
  if (page.hidden) return;
  page.hidden = true;
  byTestId("no-room").hidden = false;
  resetTotp();
  for (const form of page.querySelectorAll("form")) form.reset();
  notice("");
}

function resetTotp() {
  byTestId("totp-start").hidden = false;
  byTestId("totp-confirm-form").hidden = true;
  byTestId("recovery").hidden = true;
  byTestId("recovery-codes").replaceChildren();
  byTestId("totp-secret").textContent = "";
  byTestId("totp-uri").textContent = "";
}

async function startTotp() {
  const data = await request(doc.ENABLE_TOTP);
  notice("");
  byTestId("recovery").hidden = true;
  byTestId("totp-secret").textContent = data.enableTotp.secret;
  byTestId("totp-uri").textContent = data.enableTotp.otpauthUri;
  byTestId("totp-start").hidden = true;
  byTestId("totp-confirm-form").hidden = false;
  byTestId("totp-code").focus();
}

/** confirmTotp, then the first recovery codes: shown once, with a note to save them. */
async function confirmTotp() {
  const password = inputValue("totp-password");
  await request(doc.CONFIRM_TOTP, { code: inputValue("totp-code").trim() });
  byTestId<HTMLFormElement>("totp-confirm-form").reset();
  byTestId("totp-confirm-form").hidden = true;
  byTestId("totp-start").hidden = false;
  notice("Two-factor sign-in is on.");
  // Two-factor is on from here; if this fails (a mistyped password), "New recovery codes" below
  // gets them later.
  await showRecoveryCodes(password);
}

async function showRecoveryCodes(password: string) {
  const data = await request(doc.REGENERATE_RECOVERY_CODES, { password });
  byTestId("recovery-codes").replaceChildren(
    ...data.regenerateRecoveryCodes.map((code) => el("li", { testid: "recovery-code", text: code })),
  );
  byTestId("recovery").hidden = false;
}

async function regenerate() {
  await showRecoveryCodes(inputValue("recovery-password"));
  byTestId<HTMLFormElement>("recovery-form").reset();
  notice("New recovery codes: the earlier ones no longer work.");
}

async function disableTotp() {
  await request(doc.DISABLE_TOTP, {
    password: inputValue("totp-disable-password"),
    code: inputValue("totp-disable-code").trim(),
  });
  byTestId<HTMLFormElement>("totp-disable-form").reset();
  resetTotp();
  notice("Two-factor sign-in is off and the recovery codes are gone.");
}

/** exportMyData stores the archive as a blob only its owner may GET: fetch it, then save it. */
async function downloadMyData() {
  const data = await request(doc.EXPORT_MY_DATA);
  const response = await fetch(new URL(data.exportMyData.url, location.href), {
    headers: authorization(),
  });
  if (!response.ok) throw new Error(`the archive could not be fetched (the server answered ${response.status})`);
  const href = URL.createObjectURL(await response.blob());
  const link = el("a");
  link.href = href;
  link.download = data.exportMyData.filename ?? "confab-export.json";
  link.click();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  notice("Your data is downloaded.");
}

async function deleteAccount(hooks: AccountHooks) {
  if (!byTestId<HTMLInputElement>("delete-account-sure").checked) throw new Error("tick the box to delete your account");
  await request(doc.DELETE_ACCOUNT, { password: inputValue("delete-account-password") });
  await hooks.deleted("Your account is deleted.");
}

export function wireAccount(hooks: AccountHooks) {
  on("account-open", "click", () => openAccount(hooks));
  on("totp-start", "click", () => startTotp());
  on("totp-confirm-form", "submit", (e) => {
    e.preventDefault();
    return confirmTotp();
  });
  on("recovery-form", "submit", (e) => {
    e.preventDefault();
    return regenerate();
  });
  on("totp-disable-form", "submit", (e) => {
    e.preventDefault();
    return disableTotp();
  });
  on("export-data", "click", () => downloadMyData());
  on("delete-account-form", "submit", (e) => {
    e.preventDefault();
    return deleteAccount(hooks);
  });
}
