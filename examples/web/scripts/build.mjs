// Bundles src/main.ts (with graphql-ws) into dist/app.js and copies public/ beside it.
// dist/ is what `confab serve --demo-dir examples/web/dist` serves at /demo/.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const dist = `${root}/dist`;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
cpSync(`${root}/public`, dist, { recursive: true });
await build({
  entryPoints: [`${root}/src/main.ts`],
  outfile: `${dist}/app.js`,
  bundle: true,
  format: "iife",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
console.log(`built ${dist}`);
