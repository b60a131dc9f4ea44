// CORS in a real browser (issue #31, item 1): pages served from two other origins (ALLOWED_PAGE,
// listed in Confab's --cors-origins, and REFUSED_PAGE, not listed) talk to Confab at CONFAB_URL
// over HTTP (fetch, with the Authorization header, so a preflight runs) and WebSocket
// (graphql-transport-ws). The listed page signs up, reads `me` and gets its socket
// acknowledged; the unlisted page's fetch is blocked by the browser and its socket is refused.
// Every wait is bounded (10 s); on failure a screenshot of each page is saved in SCREENSHOTS
// (default target/web-e2e) and the exit code is 1.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const api = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const allowedPage = process.env.ALLOWED_PAGE;
const refusedPage = process.env.REFUSED_PAGE;
const shots = process.env.SCREENSHOTS ?? "target/web-e2e";
const WAIT = 10_000;
if (!allowedPage || !refusedPage) {
  console.error("set ALLOWED_PAGE and REFUSED_PAGE to the two page origins");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
  ],
});

const pageErrors = [];
async function openPage(name, origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("pageerror", (err) => pageErrors.push(`${name} page error: ${err.message}`));
  await page.goto(`${origin}/`);
  return page;
}

// Runs in the page: a GraphQL POST to the API, as a frontend would send it. Resolves to the
// JSON answer, or to { blocked: message } when the browser refuses (CORS).
function post(page, query, variables, token) {
  return page.evaluate(
    async ({ api, query, variables, token }) => {
      const headers = { "Content-Type": "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      try {
        const res = await fetch(`${api}/graphql`, {
          method: "POST",
          headers,
          body: JSON.stringify({ query, variables }),
        });
        return await res.json();
      } catch (err) {
        return { blocked: String(err) };
      }
    },
    { api, query, variables, token },
  );
}

// Runs in the page: opens a graphql-transport-ws socket and sends connection_init. Resolves to
// "acked" on connection_ack, or to how it ended ("error", "closed <code>").
function socket(page, token) {
  return page.evaluate(
    ({ url, token, wait }) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, "graphql-transport-ws");
        const timer = setTimeout(() => resolve("timeout"), wait);
        ws.onopen = () =>
          ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
        ws.onmessage = (event) => {
          if (JSON.parse(event.data).type === "connection_ack") {
            clearTimeout(timer);
            ws.close();
            resolve("acked");
          }
        };
        ws.onerror = () => {
          clearTimeout(timer);
          resolve("error");
        };
        ws.onclose = (event) => {
          clearTimeout(timer);
          resolve(`closed ${event.code}`);
        };
      }),
    { url: `${api.replace(/^http/, "ws")}/graphql`, token, wait: WAIT },
  );
}

function expect(condition, what, got) {
  if (!condition) throw new Error(`${what}: got ${JSON.stringify(got)}`);
  console.log(`  ok ${what}`);
}

let ok = false;
let allowed;
let refused;
try {
  allowed = await openPage("allowed", allowedPage);
  refused = await openPage("refused", refusedPage);
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const signUp = await post(
    allowed,
    "mutation($i: RegisterInput!) { register(input: $i) { token } }",
    { i: { username: `cors_${stamp}`, email: `cors_${stamp}@example.com`, password: "password-cors" } },
  );
  const token = signUp?.data?.register?.token;
  expect(typeof token === "string", "the listed origin signs up over fetch", signUp);
  const me = await post(allowed, "{ me { username } }", {}, token);
  expect(me?.data?.me?.username === `cors_${stamp}`, "the listed origin reads me with its token (preflight passed)", me);
  const acked = await socket(allowed, token);
  expect(acked === "acked", "the listed origin's WebSocket is acknowledged", acked);

  const blocked = await post(refused, "{ me { username } }", {}, token);
  expect(typeof blocked?.blocked === "string", "the unlisted origin's fetch is blocked by the browser", blocked);
  const shut = await socket(refused, token);
  expect(shut === "error" || shut === "closed 1006", "the unlisted origin's WebSocket is refused", shut);

  if (pageErrors.length) throw new Error(`errors in the pages:\n${pageErrors.join("\n")}`);
  ok = true;
} catch (err) {
  console.error(`FAILED: ${err.stack ?? err}`);
  mkdirSync(shots, { recursive: true });
  for (const [name, page] of [["cors-allowed", allowed], ["cors-refused", refused]]) {
    if (!page) continue;
    const path = `${shots}/${name}.png`;
    await page.screenshot({ path }).then(() => console.error(`screenshot: ${path}`), () => {});
  }
} finally {
  await browser.close();
}
console.log(ok ? "cors e2e: passed" : "cors e2e: FAILED");
process.exit(ok ? 0 : 1);
