// Account pages of the example client in headless Chromium against a real Confab at
// CONFAB_URL, started by scripts/web-e2e/run.sh with --smtp-url pointing at tests/smtp/sink.py
// (a real SMTP server, aiosmtpd) and --public-url CONFAB_URL/demo:
// - "Forgot password?": the mail the SMTP server received carries a /demo/reset-password link;
//   the browser opens it, sets a new password, and signs in with it while the old one fails;
// - a new address's /demo/confirm-email link (changeEmail) confirms it, and it signs in;
// - two-factor: set up from the account page with a code computed from the shown secret, the ten
//   recovery codes shown right after; signing in then needs a code, and a recovery code does;
// - "Download my data" saves a JSON archive of the account (exportMyData);
// - "Delete account" with the password: back to sign-in, and the account no longer signs in;
// - "Sign in with Local ID": the local OpenID provider (tests/oidc/provider.mjs, named in
//   Confab's [[oidc]] settings) signs a new person in through its login and consent pages, and
//   the page that comes back is signed in as them, with code and state gone from the address.
// MAIL_LOG is the sink's file (one JSON line per message). Every expectation waits up to 10 s;
// on failure the page is saved in SCREENSHOTS (default target/web-e2e) and the exit code is 1.
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const shots = process.env.SCREENSHOTS ?? "target/web-e2e";
const mailLog = process.env.MAIL_LOG;
if (!mailLog) throw new Error("MAIL_LOG (the SMTP sink's file) is not set: run scripts/web-e2e/run.sh");
const WAIT = 10_000;
const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const cat = {
  username: `cat_${stamp}`,
  email: `cat_${stamp}@example.com`,
  displayName: "Cat",
  password: "password-cat-1",
};
const newPassword = "password-cat-2";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
  ],
});

const problems = [];
const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
const page = await context.newPage();
page.setDefaultTimeout(WAIT);
page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
// Only the client's own pages count: the provider's login pages load things of their own
// (fonts from the web, a favicon it does not have) that fail offline.
page.on("console", (msg) => {
  if (msg.type() === "error" && new URL(page.url()).origin === new URL(base).origin) {
    problems.push(`console: ${msg.text()} (${msg.location().url})`);
  }
});

let started = Date.now();
function step(text) {
  const now = Date.now();
  console.log(`  ok ${text} (${now - started} ms)`);
  started = now;
}

function shown(testid, text) {
  const locator = page.getByTestId(testid);
  return (text === undefined ? locator : locator.filter({ hasText: text })).first().waitFor({ timeout: WAIT });
}

/** The first mail the SMTP server received for `to`, waiting up to 10 s for it. */
async function mailTo(to) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const lines = existsSync(mailLog) ? readFileSync(mailLog, "utf8").split("\n").filter(Boolean) : [];
    const found = lines.map((line) => JSON.parse(line)).find((mail) => mail.to.includes(to));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no mail to ${to} reached the SMTP server`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** RFC 6238 with the defaults Confab's otpauth URI names: SHA-1, 6 digits, 30 s. */
function totp(secretBase32, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function logIn(password, code = "") {
  await page.getByTestId("auth-username").fill(cat.username);
  await page.getByTestId("auth-password").fill(password);
  await page.getByTestId("auth-code").fill(code);
  await page.getByTestId("login").click();
}

async function refused(text) {
  await shown("error", text);
  await page.getByTestId("error").click();
  if (await page.getByTestId("chat").isVisible()) throw new Error("signed in, but should not have been");
}

async function signedIn() {
  await shown("me", cat.username);
  await page.locator('body[data-live="true"]').waitFor();
}

async function logOut() {
  await page.getByTestId("logout").click();
  await page.getByTestId("auth-form").waitFor();
}

let ok = false;
try {
  await page.goto(`${base}/demo/`);
  await page.getByTestId("signup-mode").click();
  await page.getByTestId("auth-username").fill(cat.username);
  await page.getByTestId("auth-email").fill(cat.email);
  await page.getByTestId("auth-display-name").fill(cat.displayName);
  await page.getByTestId("auth-password").fill(cat.password);
  await page.getByTestId("signup").click();
  await signedIn();
  await logOut();
  step("cat signs up and logs out");

  await page.getByTestId("forgot-open").click();
  await page.getByTestId("forgot-email").fill(cat.email);
  await page.getByTestId("forgot-send").click();
  await shown("notice", "If an account has this address, a link is on its way");
  const mail = await mailTo(cat.email);
  const link = mail.body.match(/https?:\/\/\S+\/reset-password\?token=\S+/)?.[0];
  if (!link) throw new Error(`no reset link in the mail:\n${mail.body}`);
  if (!link.startsWith(`${base}/demo/reset-password?token=`)) throw new Error(`the link does not lead to the demo: ${link}`);
  step("'Forgot password?' says a link is on its way; the SMTP server received it");

  await page.goto(link);
  await page.getByTestId("reset-form").waitFor();
  await page.getByTestId("reset-password").fill(newPassword);
  await page.getByTestId("reset-password-again").fill(`${newPassword}x`);
  await page.getByTestId("reset-submit").click();
  await shown("error", "the two passwords differ");
  await page.getByTestId("error").click();
  await page.getByTestId("reset-password-again").fill(newPassword);
  await page.getByTestId("reset-submit").click();
  await shown("notice", "sign in with the new one");
  if (new URL(page.url()).pathname !== "/demo/") throw new Error(`after the reset the page is at ${page.url()}`);
  step("the mailed link opens the reset page; two different passwords are refused, the same twice set it");

  await logIn(cat.password);
  await refused("");
  await logIn(newPassword);
  await signedIn();
  step("the old password fails, the new one signs in");

  // The client has no form for changeEmail: ask for it over GraphQL with the page's session.
  const newEmail = `cat_new_${stamp}@example.com`;
  const asked = await page.evaluate(async ([email, password]) => {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${localStorage.getItem("confab.token")}` },
      body: JSON.stringify({
        query: "mutation($e: String!, $p: String!) { changeEmail(newEmail: $e, password: $p) }",
        variables: { e: email, p: password },
      }),
    });
    return response.json();
  }, [newEmail, newPassword]);
  if (asked.data?.changeEmail !== true) throw new Error(`changeEmail: ${JSON.stringify(asked)}`);
  const confirmation = (await mailTo(newEmail)).body.match(/https?:\/\/\S+\/confirm-email\?token=\S+/)?.[0];
  if (!confirmation?.startsWith(`${base}/demo/confirm-email?token=`)) throw new Error(`no confirm-email link: ${confirmation}`);
  await page.goto(confirmation);
  await page.getByTestId("confirm-email").click();
  await shown("notice", `Your address ${newEmail} is confirmed`);
  await page.getByTestId("auth-username").fill(newEmail);
  await page.getByTestId("auth-password").fill(newPassword);
  await page.getByTestId("login").click();
  await signedIn();
  step("a changeEmail mail's link opens the confirm page; confirmed, the new address signs in");

  await page.getByTestId("account-open").click();
  await page.getByTestId("totp-start").click();
  await page.getByTestId("totp-confirm-form").waitFor();
  const secret = (await page.getByTestId("totp-secret").textContent()).trim();
  if (!/^[A-Z2-7]+=*$/.test(secret)) throw new Error(`not a base32 secret: ${secret}`);
  await page.getByTestId("totp-code").fill("000000" === totp(secret) ? "111111" : "000000");
  await page.getByTestId("totp-password").fill(newPassword);
  await page.getByTestId("totp-confirm").click();
  await shown("error", "wrong or expired code");
  await page.getByTestId("error").click();
  await page.getByTestId("totp-code").fill(totp(secret));
  await page.getByTestId("totp-password").fill(newPassword);
  await page.getByTestId("totp-confirm").click();
  await shown("recovery", "Save these recovery codes");
  const codes = (await page.getByTestId("recovery-code").allTextContents()).map((c) => c.trim());
  if (codes.length !== 10 || !codes.every((c) => /^[a-z0-9]{5}-[a-z0-9]{5}$/i.test(c))) {
    throw new Error(`expected ten recovery codes, got ${JSON.stringify(codes)}`);
  }
  step("two-factor set up from the account page; ten recovery codes shown right after");

  await logOut();
  await logIn(newPassword);
  await refused("two-factor code required");
  await logIn(newPassword, codes[0]);
  await signedIn();
  await logOut();
  await logIn(newPassword, codes[0]);
  await refused("");
  step("signing in now needs a code: a recovery code works, once");

  await logIn(newPassword, codes[1]);
  await signedIn();
  await page.getByTestId("account-open").click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-data").click()]);
  const archive = JSON.parse(readFileSync(await download.path(), "utf8"));
  if (archive.format !== "confab-export" || archive.profile?.username !== cat.username) {
    throw new Error(`not cat's archive: ${JSON.stringify(archive).slice(0, 300)}`);
  }
  await shown("account-notice", "Your data is downloaded");
  step(`'Download my data' saves cat's archive (${download.suggestedFilename()})`);

  await page.getByTestId("delete-account-password").fill(cat.password);
  await page.getByTestId("delete-account-sure").check();
  await page.getByTestId("delete-account").click();
  await shown("error", "wrong password");
  await page.getByTestId("error").click();
  await page.getByTestId("delete-account-password").fill(newPassword);
  await page.getByTestId("delete-account").click();
  await shown("notice", "Your account is deleted");
  await logIn(newPassword, codes[2]);
  await refused("");
  step("cat deletes the account (a wrong password first, refused): signed out, and it no longer signs in");

  // The provider's development login takes any name and password; its claims follow the name.
  const olive = `olive_${stamp}`;
  await page.goto(`${base}/demo/`);
  const provider = page.getByTestId("oidc-login").filter({ hasText: "Sign in with Local ID" });
  await provider.waitFor();
  await provider.click();
  await page.locator('input[name="login"]').waitFor();
  if (new URL(page.url()).origin === new URL(base).origin) throw new Error(`not at the provider: ${page.url()}`);
  await page.locator('input[name="login"]').fill(olive);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL((url) => url.origin === new URL(base).origin);
  await shown("me", olive);
  await page.locator('body[data-live="true"]').waitFor();
  const back = new URL(page.url());
  if (back.pathname !== "/demo/" || back.searchParams.has("code") || back.searchParams.has("state")) {
    throw new Error(`code and state are still in the address: ${page.url()}`);
  }
  step("'Sign in with Local ID': the provider's login and consent, then back signed in as the new user");

  await logOut();
  await page.goto(`${base}/demo/?code=forged&state=forged`);
  await shown("error", "not started in this tab");
  if (new URL(page.url()).search !== "") throw new Error(`code and state left in the address: ${page.url()}`);
  await page.getByTestId("error").click();
  if (await page.getByTestId("chat").isVisible()) throw new Error("a forged return signed in");
  step("a return from the provider that this tab did not start is refused readably");

  if (problems.length) throw new Error(`errors in the page:\n${problems.join("\n")}`);
  ok = true;
} catch (err) {
  console.error(`FAILED: ${err.stack ?? err}`);
  for (const problem of problems) console.error(problem);
  mkdirSync(shots, { recursive: true });
  const path = `${shots}/account.png`;
  await page.screenshot({ path, fullPage: true }).then(() => console.error(`screenshot: ${path}`), () => {});
} finally {
  if (ok) {
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: `${shots}/account.png` }).catch(() => {});
  }
  await browser.close();
}
console.log(ok ? "web account e2e: passed" : "web account e2e: FAILED");
process.exit(ok ? 0 : 1);
