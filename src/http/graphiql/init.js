// Starts GraphiQL on the page at `/`. A file, not an inline script, so the page's
// Content-Security-Policy can say `script-src 'self'` (src/http/headers.rs).
// Queries go to /graphql; subscriptions to the same path over WebSocket. The headers you set
// in the Headers tab (e.g. {"Authorization": "Bearer cfb_..."}) are also sent as the
// WebSocket connection_init payload, which is how Confab authenticates sockets.
const ws = new URL("/graphql", window.location.href);
ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
const params = new URLSearchParams(window.location.search);
const props = {
  fetcher: GraphiQL.createFetcher({ url: "/graphql", subscriptionUrl: ws.toString() }),
  defaultEditorToolsVisibility: true,
  defaultQuery: "# Sign in with register or login, then put the token in the Headers tab:\n# {\"Authorization\": \"Bearer cfb_...\"}\n\nquery {\n  me { id username displayName }\n}\n",
};
// ?query=...&variables=...&headers=... prefill the editors (handy for links and tests).
for (const key of ["query", "variables", "headers"]) {
  if (params.has(key)) props[key] = params.get(key);
}
if (params.has("headers")) props.shouldPersistHeaders = false;
const root = document.getElementById("graphiql");
// With `--introspection=false` the server refuses `__schema`: GraphiQL still runs operations,
// without asking for the schema (no docs, no completion), and says why.
if (root.dataset.introspection === "false") {
  props.schema = null;
  props.defaultQuery = "# Introspection is off on this server (--introspection=false): GraphiQL runs\n# operations but has no docs or completion. schema.graphql describes the API.\n\n" + props.defaultQuery;
}
ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
