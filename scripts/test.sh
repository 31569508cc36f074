#!/usr/bin/env bash
# The README's second command: set up, build, and run every test: C++ unit tests,
# integration tests against private PostgreSQL 15 clusters the tests start themselves,
# the installed-package example build, and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${PGCDC_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" -j2 --output-on-failure --timeout 300
