#!/usr/bin/env bash
# The README's second command: set up, build, and run every test: C++ unit tests,
# integration tests against private PostgreSQL 15 clusters the tests start themselves,
# the installed-package example build, and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${PGCDC_BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$PWD/$BUILD_DIR
# Both suites run even when the first fails; the exit status reports either failure.
ctest_status=0
ctest --test-dir "$BUILD_DIR" -j2 --output-on-failure --timeout 300 || ctest_status=$?

# Python tests (tests/python, settings in pyproject.toml): pytest in a virtualenv kept in
# the build directory, run against the CLI built above. Reused when it works; recreated
# when its interpreter is gone (e.g. python3 was upgraded).
VENV=$BUILD_DIR/venv
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "test: creating $VENV" >&2
  python3 -m venv --clear "$VENV"
fi
if ! "$VENV/bin/python" -c 'import pytest' >/dev/null 2>&1; then
  echo "test: installing pytest into $VENV" >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q pytest
fi
pytest_status=0
PGCDC_CLI=$BUILD_DIR/pgcdc "$VENV/bin/python" -m pytest || pytest_status=$?

if ((ctest_status != 0 || pytest_status != 0)); then
  echo "test: FAILED (ctest exit $ctest_status, pytest exit $pytest_status)" >&2
  exit 1
fi
