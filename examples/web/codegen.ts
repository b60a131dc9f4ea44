// GraphQL Code Generator: the result and variable types of every document in src/documents.ts,
// from the server's schema.graphql, into src/generated/graphql.ts (committed; `npm run codegen`
// regenerates it, CI fails when it differs, then runs `tsc --noEmit` over the client).
//
// Operations only, on purpose: `typescript-operations` (6.x) already emits the enums and input
// types the documents use, so adding the `typescript` plugin to the same file declares them twice
// (TS2300 "Duplicate identifier 'LoginInput'", TS2567 for RoomKind as enum and type). Custom
// scalars need a map, or they come out `unknown`. See docs/api.md, "TypeScript codegen".
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  // Each template literal marked /* GraphQL */ is one document (fragments included by name).
  documents: "src/documents.ts",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript-operations"],
      config: {
        scalars: {
          UUID: "string",
          DateTime: "string",
          JSON: "unknown",
          Upload: "File",
        },
        // String unions, not TypeScript enums: no runtime code, and plain strings from the wire fit.
        enumsAsTypes: true,
        // `field: T | null` in results (the server always sends every selected field);
        // optional keys only where an input may leave them out.
        avoidOptionals: { field: true, object: true, inputValue: false, defaultValue: false },
        useTypeImports: true,
      },
    },
  },
};

export default config;
