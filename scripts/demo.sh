#!/usr/bin/env bash
# The README's first command: set up, build, and run `pgcdc demo` (a private
# PostgreSQL in a temporary directory; nothing to configure).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${PGCDC_BUILD_DIR:-build}/pgcdc" demo "$@"
