// GraphiQL against a server started with `--introspection=false` (at CONFAB_URL): the page still
// loads, says introspection is off, never asks for the schema, and runs an operation. No CSP
// violation or console error is allowed. Exits non-zero on failure.
import { chromium } from "playwright-core";

const base = process.env.CONFAB_URL ?? "http://127.0.0.1:8080";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const problems = [];
let ok = false;
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  page.on("request", (r) => {
    if (r.postData()?.includes("__schema")) problems.push("GraphiQL asked for the schema");
  });
  await page.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI || "inline"}`)));
  const query = "{ __typename }";
  await page.goto(`${base}/?${new URLSearchParams({ query })}`);
  await page.locator(".graphiql-execute-button").click();
  await page.locator(".graphiql-response").getByText('"Query"').waitFor({ timeout: 10_000 });
  // Without ?query the default text explains why there are no docs.
  const fresh = await browser.newPage();
  await fresh.goto(`${base}/`);
  await fresh.locator(".graphiql-query-editor").getByText("Introspection is off").first().waitFor({ timeout: 10_000 });
  ok = true;
  console.log("GraphiQL ran an operation with introspection off");
} catch (err) {
  console.error(err);
} finally {
  await browser.close();
}
for (const problem of problems) console.error(problem);
process.exit(ok && problems.length === 0 ? 0 : 1);
