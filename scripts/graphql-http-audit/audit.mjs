// The graphql-http server audit (every `serverAudits` check of the GraphQL-over-HTTP spec) and
// a graphql-ws client check, against a Confab that is already running. Starts nothing.
//
//   node audit.mjs http://127.0.0.1:8080/graphql
//
// Prints every result; exits 1 when a MUST or a SHOULD fails (a MAY that fails is printed as a
// notice only), or when the graphql-transport-ws check fails.

import { serverAudits } from "graphql-http";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.argv[2] ?? process.env.CONFAB_GRAPHQL_URL;
if (!url) {
  console.error("usage: node audit.mjs <http://host:port/graphql>");
  process.exit(2);
}

let failed = 0;

// GraphQL over HTTP.
const results = await Promise.all(serverAudits({ url }).map(({ fn }) => fn()));
for (const result of results) {
  const mark = { ok: "ok    ", notice: "notice", warn: "WARN  ", error: "ERROR " }[result.status];
  console.log(`${mark} ${result.id} ${result.name}`);
  if (result.status !== "ok") {
    const body = result.response ? await result.response.text().catch(() => "") : "";
    console.log(`         ${result.reason}${body ? `\n         body: ${body.slice(0, 300)}` : ""}`);
  }
  if (result.status === "error" || result.status === "warn") failed += 1;
}
const count = (status) => results.filter((r) => r.status === status).length;
console.log(
  `\ngraphql-http: ${results.length} audits, ${count("ok")} ok, ${count("error")} MUST failed, ` +
    `${count("warn")} SHOULD failed, ${count("notice")} MAY not done`,
);

// graphql-transport-ws with the graphql-ws client: a real client signs in and runs an
// operation; a subscribe before connection_init closes 4401.
const wsUrl = url.replace(/^http/, "ws");
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok     ws ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`ERROR  ws ${name}\n         ${err?.message ?? err}`);
  }
}

async function post(query, variables) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (res.status !== 200 || body.errors) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body.data;
}

await check("graphql-ws client: connection_init with a token, then a query", async () => {
  const name = `audit${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const data = await post(
    "mutation($input: RegisterInput!) { register(input: $input) { token } }",
    { input: { username: name, email: `${name}@example.com`, password: `password-${name}-long` } },
  );
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${data.register.token}` },
    retryAttempts: 0,
  });
  try {
    const results = [];
    for await (const result of client.iterate({ query: "{ me { username } }" })) {
      results.push(result);
    }
    const got = results[0]?.data?.me?.username;
    if (results.length !== 1 || got !== name) throw new Error(`got ${JSON.stringify(results)}`);
  } finally {
    await client.dispose();
  }
});

await check("subscribe before connection_init closes 4401", async () => {
  const code = await new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, "graphql-transport-ws");
    const timer = setTimeout(() => reject(new Error("the socket stayed open")), 5000);
    socket.on("open", () =>
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ __typename }" } })),
    );
    socket.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    socket.on("error", reject);
  });
  if (code !== 4401) throw new Error(`closed with ${code}`);
});

if (failed > 0) {
  console.log(`\n${failed} check(s) failed`);
  process.exit(1);
}
console.log("\nall MUST and SHOULD audits pass");
