// Two people chat through the example client in headless Chromium, each in a browser context
// of their own (separate storage, separate sockets), against a real Confab at CONFAB_URL:
// sign-up, a direct room opened by username, presence dots, unread badges, live messages,
// reactions, typing, receipts, edits, deletes, paged history after a reload, a phone-width
// page (phone.png), logging back in, and a session revoked from elsewhere. Every expectation waits up
// to 10 s for the page to show it; none is a fixed sleep. On failure both pages are saved as
// screenshots in SCREENSHOTS (default target/web-e2e) and the exit code is 1 (on success the
// final state of both pages is left there too).
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const shots = process.env.SCREENSHOTS ?? "target/web-e2e";
const WAIT = 10_000;
const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const ann = { username: `ann_${stamp}`, displayName: "Ann", password: "password-ann" };
const bob = { username: `bob_${stamp}`, displayName: "Bob", password: "password-bob" };

// Playwright gives each launch a fresh --user-data-dir of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
  ],
});

const problems = [];
async function openPage(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (err) => problems.push(`${name} page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`${name} console: ${msg.text()}`);
  });
  return page;
}

let started = Date.now();
function step(text) {
  const now = Date.now();
  console.log(`  ok ${text} (${now - started} ms)`);
  started = now;
}

/** Waits until the element with this test id, containing `text`, is visible. */
function shown(page, testid, text) {
  const locator = page.getByTestId(testid);
  return (text === undefined ? locator : locator.filter({ hasText: text })).first().waitFor({ timeout: WAIT });
}

/** Waits until `predicate(arg)` holds in the page. */
function until(page, predicate, arg) {
  return page.waitForFunction(predicate, arg, { timeout: WAIT });
}

async function signUp(page, who) {
  await page.goto(`${base}/demo/`);
  await page.getByTestId("signup-mode").click();
  await page.getByTestId("auth-username").fill(who.username);
  await page.getByTestId("auth-email").fill(`${who.username}@example.com`);
  await page.getByTestId("auth-display-name").fill(who.displayName);
  await page.getByTestId("auth-password").fill(who.password);
  await page.getByTestId("signup").click();
  await shown(page, "me", who.username);
  // The socket is up and the room list loaded: from here on events reach this page.
  await page.locator('body[data-live="true"]').waitFor();
}

/** Waits until `page` shows `who`'s presence dot with this status (ONLINE, AWAY, OFFLINE). */
function presence(page, who, status) {
  return page.locator(`[data-testid="presence"][data-user="${who.username}"][data-status="${status}"]`).first().waitFor();
}

function message(page, text) {
  return page.getByTestId("message").filter({ hasText: text }).first();
}

const a = await openPage("ann");
const b = await openPage("bob");
let ok = false;
try {
  await signUp(a, ann);
  await signUp(b, bob);
  step("both sign up and connect");

  await a.getByTestId("direct-username").fill(bob.username);
  await a.getByTestId("direct-open").click();
  await shown(a, "room-title", "Bob");
  await shown(a, "room-info", "2 members");
  await a.locator('[data-testid="messages"][data-ready="true"]').waitFor();
  await shown(b, "room-item", "Ann");
  step("ann opens a direct room by username (its header: 2 members); it appears live in bob's list");

  await presence(a, bob, "ONLINE");
  await presence(b, ann, "ONLINE");
  await b.getByTestId("my-status").selectOption("AWAY");
  await presence(a, bob, "AWAY");
  await b.getByTestId("my-status").selectOption("ONLINE");
  await presence(a, bob, "ONLINE");
  step("presence dots: each sees the other online; bob chooses away and back, ann sees it live");

  const hello = `hello bob ${stamp}`;
  await a.getByTestId("composer").fill(hello);
  await a.getByTestId("composer").press("Enter");
  await message(a, hello).waitFor();
  await b.getByTestId("room-item").filter({ hasText: "Ann" }).getByTestId("unread-badge").filter({ hasText: "1" }).waitFor();
  await b.getByTestId("room-item").filter({ hasText: "Ann" }).getByTestId("room-preview").filter({ hasText: hello }).waitFor();
  step("bob sees an unread badge of 1 and the message in the room's preview, live");

  await b.getByTestId("room-item").filter({ hasText: "Ann" }).click();
  await message(b, hello).waitFor();
  await shown(b, "day-divider", "Today");
  await until(b, () => !document.querySelector('[data-testid="unread-badge"]'));
  await shown(a, "receipt", "Seen by Bob");
  await message(a, hello).getByTestId("message-status").filter({ hasText: "✓✓" }).waitFor();
  // Ann's own marker sits on her message: bob's page does not call it seen by her.
  if ((await message(b, hello).getByTestId("receipt").count()) > 0) {
    throw new Error(`bob's page says ${await message(b, hello).getByTestId("receipt").innerText()}`);
  }
  step("bob opens the room: the message is there, the badge goes, ann sees 'Seen by Bob' and ✓✓");

  const second = `are you there ${stamp}`;
  await a.getByTestId("composer").fill(second);
  await a.getByTestId("send").click();
  await message(b, second).waitFor();
  step("ann's next message reaches bob's open room live");

  const reaction = (page, text, emoji, count, mine) =>
    message(page, text)
      .locator(`[data-testid="reaction"][data-emoji="${emoji}"][data-count="${count}"][data-mine="${mine}"]`)
      .waitFor();
  await message(a, second).locator('[data-testid="react-pick"][data-emoji="👍"]').click();
  await reaction(a, second, "👍", 1, true);
  await reaction(b, second, "👍", 1, false);
  await message(b, second).locator('[data-testid="reaction"][data-emoji="👍"]').click();
  await reaction(b, second, "👍", 2, true);
  await reaction(a, second, "👍", 2, true);
  await message(b, second).locator('[data-testid="reaction"][data-emoji="👍"]').click();
  await reaction(a, second, "👍", 1, true);
  await reaction(b, second, "👍", 1, false);
  step("reactions: ann reacts 👍, bob sees 1 live, joins in (2 on both pages) and takes his back");

  await b.getByTestId("composer").pressSequentially("yes, wri", { delay: 20 });
  await shown(a, "typing", "Bob is typing");
  step("bob types: ann sees 'Bob is typing…'");

  const reply = `yes, writing back ${stamp}`;
  await b.getByTestId("composer").fill(reply);
  await b.getByTestId("composer").press("Enter");
  await message(a, reply).waitFor();
  await until(a, () => document.querySelector('[data-testid="typing"]')?.textContent === "");
  step("bob's reply reaches ann live and the typing indicator clears");

  const edited = `hello bob, edited ${stamp}`;
  await message(a, hello).getByTestId("message-edit").click();
  await a.getByTestId("edit-input").fill(edited);
  await a.getByTestId("edit-save").click();
  await message(b, edited).getByTestId("message-edited").waitFor();
  step("ann edits her first message: bob sees the new text marked edited");

  await message(b, reply).getByTestId("message-delete").click();
  await a.locator(`[data-testid="message"][data-deleted="true"]`).filter({ hasText: "message deleted" }).waitFor();
  await until(a, (text) => !document.body.innerText.includes(text), reply);
  step("bob deletes his reply: it turns into 'message deleted' for ann");

  // History: 40 more messages through the API with ann's token, then bob reloads (his token
  // is in localStorage), sees the newest 30 and pages back to the oldest by scrolling up.
  const token = await a.evaluate(() => localStorage.getItem("confab.token"));
  const roomId = await a.getByTestId("room-item").first().getAttribute("data-room-id");
  for (let i = 1; i <= 40; i += 1) {
    const response = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
        variables: { i: { roomId, body: `history ${i} of 40` } },
      }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
  }
  await b.reload();
  await b.locator('body[data-live="true"]').waitFor();
  await b.getByTestId("room-item").filter({ hasText: "Ann" }).click();
  await message(b, "history 40 of 40").waitFor();
  const firstPage = await b.getByTestId("message").count();
  if (firstPage !== 30) throw new Error(`the first page shows ${firstPage} messages, not the newest 30`);
  await b.getByTestId("messages").evaluate((list) => { list.scrollTop = 0; });
  await message(b, edited).waitFor();
  step("bob reloads, stays signed in, and pages back through history by scrolling up");

  await b.getByTestId("logout").click();
  await b.getByTestId("auth").waitFor();
  await presence(a, bob, "OFFLINE");
  await b.getByTestId("auth-username").fill(bob.username);
  await b.getByTestId("auth-password").fill(bob.password);
  await b.getByTestId("login").click();
  await shown(b, "me", bob.username);
  await presence(a, bob, "ONLINE");
  await until(b, () => document.querySelector('[data-testid="my-status"]').value === "ONLINE");
  step("bob logs out: ann sees him offline; he signs back in: online again, live");

  // A phone, 390 px wide: bob signs in there too; the room list fills the screen, the open
  // room replaces it (with a way back), and nothing scrolls sideways.
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const phone = await phoneContext.newPage();
  phone.setDefaultTimeout(WAIT);
  phone.on("pageerror", (err) => problems.push(`phone page error: ${err.message}`));
  phone.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`phone console: ${msg.text()}`);
  });
  await phone.goto(`${base}/demo/`);
  await phone.getByTestId("auth-username").fill(bob.username);
  await phone.getByTestId("auth-password").fill(bob.password);
  await phone.getByTestId("auth-password").press("Enter");
  await shown(phone, "room-item", "Ann");
  const sideways = () => document.documentElement.scrollWidth > window.innerWidth || document.body.scrollWidth > window.innerWidth;
  if (await phone.evaluate(sideways)) throw new Error("the room list scrolls sideways at 390 px");
  await phone.getByTestId("room-item").filter({ hasText: "Ann" }).click();
  await message(phone, "history 40 of 40").waitFor();
  if (await phone.getByTestId("room-list").isVisible()) throw new Error("the room list still shows beside the room at 390 px");
  if (await phone.evaluate(sideways)) throw new Error("the open room scrolls sideways at 390 px");
  mkdirSync(shots, { recursive: true });
  await phone.screenshot({ path: `${shots}/phone.png` });
  await phone.getByTestId("room-back").click();
  await phone.getByTestId("room-list").waitFor();
  await phoneContext.close();
  step("at 390 px wide: the list, then the room in its place (no sideways scroll), and back");

  await a.getByTestId("logout").click();
  await a.getByTestId("auth").waitFor();
  await a.getByTestId("auth-username").fill(ann.username);
  await a.getByTestId("auth-password").fill(ann.password);
  await a.getByTestId("auth-password").press("Enter");
  await shown(a, "me", ann.username);
  await shown(a, "room-item", "Bob");
  step("ann logs out and back in (Enter in the form signs in) and finds her room");

  // Her session revoked from elsewhere (here: `logout` over HTTP with her token): the socket
  // closes with 4401 "revoked" and the page says so on the sign-in screen, no raw CloseEvent.
  const annToken = await a.evaluate(() => localStorage.getItem("confab.token"));
  const revoked = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${annToken}` },
    body: JSON.stringify({ query: "mutation { logout }" }),
  }).then((r) => r.json());
  if (revoked.errors) throw new Error(JSON.stringify(revoked.errors));
  await shown(a, "notice", "Your session was signed out elsewhere");
  await a.getByTestId("auth-username").waitFor();
  if (await a.getByTestId("error").isVisible()) {
    throw new Error(`an error shows as well: ${await a.getByTestId("error").textContent()}`);
  }
  if (await a.evaluate(() => localStorage.getItem("confab.token"))) throw new Error("the revoked token is still kept");
  step("ann's session is revoked elsewhere: she is back at sign-in, told 'signed out elsewhere'");

  if (problems.length) throw new Error(`errors in the pages:\n${problems.join("\n")}`);
  ok = true;
} catch (err) {
  console.error(`FAILED: ${err.stack ?? err}`);
  for (const problem of problems) console.error(problem);
  mkdirSync(shots, { recursive: true });
  for (const [name, page] of [["ann", a], ["bob", b]]) {
    const path = `${shots}/${name}.png`;
    await page.screenshot({ path, fullPage: true }).then(() => console.error(`screenshot: ${path}`), () => {});
  }
} finally {
  if (ok) {
    // Left for a look at what passed; on failure the catch above saved them already.
    mkdirSync(shots, { recursive: true });
    await a.screenshot({ path: `${shots}/ann.png` }).catch(() => {});
    await b.screenshot({ path: `${shots}/bob.png` }).catch(() => {});
  }
  await browser.close();
}
console.log(ok ? "web client e2e: passed" : "web client e2e: FAILED");
process.exit(ok ? 0 : 1);
