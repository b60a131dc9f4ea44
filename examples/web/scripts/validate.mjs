// Checks every GraphQL document in src/documents.ts against the server's schema.graphql:
// syntax, field and argument names, variable types, fragments. Prints each error and exits
// non-zero when there is one, so a renamed field fails CI before a browser ever starts.
//   node scripts/validate.mjs [path/to/schema.graphql]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildSchema, parse, validate } from "graphql";

const here = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const schemaPath = process.argv[2] ?? fileURLToPath(new URL("../../../schema.graphql", import.meta.url));
const schema = buildSchema(readFileSync(schemaPath, "utf8"));

// documents.ts is TypeScript: let esbuild turn it into a module Node can import.
const bundled = await build({
  entryPoints: [`${here}/src/documents.ts`],
  bundle: true,
  format: "esm",
  platform: "neutral",
  write: false,
});
const source = bundled.outputFiles[0].text;
const documents = await import(`data:text/javascript;base64,${Buffer.from(source).toString("base64")}`);

let failures = 0;
let checked = 0;
for (const [name, text] of Object.entries(documents)) {
  if (typeof text !== "string") continue;
  checked += 1;
  let errors;
  try {
    errors = validate(schema, parse(text));
  } catch (err) {
    errors = [err];
  }
  for (const error of errors) {
    failures += 1;
    console.error(`${name}: ${error.message}`);
  }
}
if (checked === 0) {
  console.error("no documents found in src/documents.ts");
  process.exit(1);
}
console.log(`${checked} documents checked against ${schemaPath}: ${failures} error(s)`);
process.exit(failures === 0 ? 0 : 1);
