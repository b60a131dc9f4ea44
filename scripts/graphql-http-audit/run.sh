#!/usr/bin/env bash
# Runs the graphql-http server audit (and the graphql-ws client check) against a Confab that is
# already running; installs the pinned packages from package-lock.json first.
#   scripts/graphql-http-audit/run.sh http://127.0.0.1:8080/graphql
set -euo pipefail
cd "$(dirname "$0")"
url="${1:?usage: run.sh <http://host:port/graphql>}"
npm ci --no-audit --no-fund --loglevel=error
node audit.mjs "$url"
