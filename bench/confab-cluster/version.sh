#!/usr/bin/env bash
# Header lines for the results file.
here=$(cd "$(dirname "$0")" && pwd)
"$here/../confab/version.sh" | sed -e 's/local broker (no Redis)/Redis fan-out/'
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
echo "cluster: ${CONFAB_CLUSTER_PROCESSES:-3} processes (CONFAB_WORKERS default: one per core each) behind $("$haproxy" -v | head -n1), deploy/haproxy/haproxy.cfg without its request log"
