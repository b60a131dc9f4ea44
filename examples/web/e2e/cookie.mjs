// A cookie session in headless Chromium, against a Confab at CONFAB_URL started with
// --cookie-sessions: ann signs up with "Keep me signed in with a cookie", so the session is an
// HttpOnly confab_session cookie and nothing is in localStorage (page scripts cannot read the
// cookie either); after a reload she is still signed in, her socket is signed in by the
// cookie, she chats with bob (who uses a bearer token, over HTTP from here), and signing out
// removes the cookie. Every expectation waits up to 10 s; none is a fixed sleep. On failure the
// page is saved in SCREENSHOTS (default target/web-e2e) and the exit code is 1.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const shots = process.env.SCREENSHOTS ?? "target/web-e2e";
const WAIT = 10_000;
const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const ann = { username: `ann_c_${stamp}`, password: "password-ann" };
const bob = { username: `bob_c_${stamp}`, password: "password-bob" };

async function gql(query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

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
page.on("console", (msg) => {
  if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
});

let started = Date.now();
function step(text) {
  const now = Date.now();
  console.log(`  ok ${text} (${now - started} ms)`);
  started = now;
}

/** The session cookie as the browser keeps it, or undefined. */
async function sessionCookie() {
  return (await context.cookies(base)).find((c) => c.name === "confab_session");
}

async function live() {
  await page.getByTestId("me").filter({ hasText: ann.username }).waitFor();
  await page.locator('body[data-live="true"]').waitFor();
}

let ok = false;
try {
  const bobToken = (
    await gql(
      "mutation($input: RegisterInput!) { register(input: $input) { token } }",
      { input: { username: bob.username, email: `${bob.username}@example.com`, password: bob.password } },
    )
  ).register.token;

  await page.goto(`${base}/demo/`);
  await page.getByTestId("signup-mode").click();
  await page.getByTestId("auth-username").fill(ann.username);
  await page.getByTestId("auth-email").fill(`${ann.username}@example.com`);
  await page.getByTestId("auth-password").fill(ann.password);
  await page.getByTestId("auth-cookie").check();
  await page.getByTestId("signup").click();
  await live();
  const cookie = await sessionCookie();
  if (!cookie || !cookie.httpOnly || cookie.sameSite !== "Lax" || cookie.path !== "/") {
    throw new Error(`the session cookie is not HttpOnly, SameSite=Lax, Path=/: ${JSON.stringify(cookie)}`);
  }
  const seen = await page.evaluate(() => ({ stored: localStorage.getItem("confab.token"), cookies: document.cookie }));
  if (seen.stored !== null || seen.cookies.includes("confab_session")) {
    throw new Error(`the page can see the session: ${JSON.stringify(seen)}`);
  }
  step("ann signs up with a cookie: HttpOnly, SameSite=Lax; nothing in localStorage, nothing in document.cookie");

  await page.reload();
  await live();
  step("after a reload she is still signed in, and her socket is signed in by the cookie");

  await page.getByTestId("direct-username").fill(bob.username);
  await page.getByTestId("direct-open").click();
  await page.locator('[data-testid="messages"][data-ready="true"]').waitFor();
  const hello = `hello from a cookie ${stamp}`;
  await page.getByTestId("composer").fill(hello);
  await page.getByTestId("composer").press("Enter");
  await page.getByTestId("message").filter({ hasText: hello }).first().waitFor();
  const rooms = await gql("{ myRooms(first: 5) { edges { node { id lastMessage { body sender { username } } } } } }", {}, bobToken);
  const room = rooms.myRooms.edges[0]?.node;
  const last = room?.lastMessage;
  if (last?.body !== hello || last.sender.username !== ann.username) {
    throw new Error(`bob does not have ann's message: ${JSON.stringify(rooms)}`);
  }
  const reply = `hi ann ${stamp}`;
  await gql("mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }", { input: { roomId: room.id, body: reply } }, bobToken);
  await page.getByTestId("message").filter({ hasText: reply }).first().waitFor();
  step("ann chats with bob: her message reaches him, his reply reaches her page live");

  const loggedOut = page.waitForResponse((r) => r.request().postData()?.includes("mutation Logout") ?? false);
  await page.getByTestId("logout").click();
  await loggedOut;
  await page.getByTestId("auth-form").waitFor();
  if (await sessionCookie()) throw new Error("signing out left the session cookie");
  await page.reload();
  await page.getByTestId("auth-form").waitFor();
  if (await page.getByTestId("me").filter({ hasText: ann.username }).isVisible()) throw new Error("still signed in after signing out");
  step("signing out removes the cookie: a reload shows the sign-in form");

  if (problems.length) throw new Error(`errors in the page:\n${problems.join("\n")}`);
  ok = true;
} catch (err) {
  console.error(`FAILED: ${err.stack ?? err}`);
  for (const problem of problems) console.error(problem);
  mkdirSync(shots, { recursive: true });
  const path = `${shots}/cookie.png`;
  await page.screenshot({ path, fullPage: true }).then(() => console.error(`screenshot: ${path}`), () => {});
} finally {
  await browser.close();
}
console.log(ok ? "cookie session e2e: passed" : "cookie session e2e: FAILED");
process.exit(ok ? 0 : 1);
