// Opens GraphiQL at CONFAB_URL in headless Chromium, starts a roomEvents subscription from it,
// sends a message over HTTP, and waits until GraphiQL shows the event. The page must come with
// a Content-Security-Policy and report no violation of it (nor any other console error). Exits
// non-zero on failure and leaves a screenshot either way.
import { chromium } from "playwright-core";

const base = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const shot = process.env.SCREENSHOT ?? "graphiql-subscription.png";

async function gql(query, variables = {}, token) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const stamp = Date.now().toString(36);
const register = `mutation($i: RegisterInput!) { register(input: $i) { token user { id } } }`;
const ann = (await gql(register, { i: { username: `ann_${stamp}`, email: `ann_${stamp}@example.com`, password: "password-ann" } })).register;
const bob = (await gql(register, { i: { username: `bob_${stamp}`, email: `bob_${stamp}@example.com`, password: "password-bob" } })).register;
const room = (await gql(`mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }`, { i: { name: "browser", memberIds: [bob.user.id] } }, ann.token)).createRoom.id;

const query = `subscription { roomEvents(roomId: "${room}") { __typename ... on MessageAdded { message { body sender { username } } } } }`;
const headers = JSON.stringify({ Authorization: `Bearer ${bob.token}` });
const url = `${base}/?${new URLSearchParams({ query, headers })}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let ok = false;
const problems = [];
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  // Chromium logs a refused script or connection to the console too; this names the directive.
  await page.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI || "inline"}`)));
  const response = await page.goto(url);
  const csp = response.headers()["content-security-policy"] ?? "";
  if (!csp.includes("frame-ancestors 'none'")) problems.push(`GraphiQL served without its CSP: "${csp}"`);
  await page.locator(".graphiql-execute-button").click();
  // The socket is open once GraphiQL shows the subscription waiting; give it a moment, then write.
  await page.waitForTimeout(1500);
  const body = `hello from http ${stamp}`;
  await gql(`mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }`, { i: { roomId: room, body } }, ann.token);
  await page.locator(".graphiql-response").getByText(body).waitFor({ timeout: 10_000 });
  const text = await page.locator(".graphiql-response").innerText();
  ok = text.includes("MessageAdded") && text.includes(`ann_${stamp}`);
  console.log(ok ? "GraphiQL received the subscription event" : `unexpected response:\n${text}`);
  // The docs explorer needs the schema: it is fetched by introspection, over `connect-src`.
  await page.locator('[aria-label="Show Documentation Explorer"]').click();
  await page.locator(".graphiql-doc-explorer").getByText("Query", { exact: true }).first().waitFor({ timeout: 10_000 });
  // A dialog (Radix, as GraphiQL's menus): opening it must not be refused anything either.
  await page.locator('[aria-label="Open settings dialog"]').click();
  await page.locator(".graphiql-dialog").first().waitFor({ timeout: 10_000 });
  await page.keyboard.press("Escape");
  await page.screenshot({ path: shot });
} catch (err) {
  console.error(err);
} finally {
  await browser.close();
}
for (const problem of problems) console.error(problem);
process.exit(ok && problems.length === 0 ? 0 : 1);
