#!/usr/bin/env bash
# The README's second command: set up, build, and run every test: C++ unit tests,
# integration tests against private PostgreSQL 15 clusters the tests start themselves,
# the installed-package example build, the portable wheel, and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${PGCDC_BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$PWD/$BUILD_DIR
# Both suites run even when the first fails; the exit status reports either failure.
ctest_status=0
ctest --test-dir "$BUILD_DIR" -j2 --output-on-failure --timeout 300 || ctest_status=$?

# Python tests (tests/python, settings in pyproject.toml) in a virtualenv kept in the
# build directory, reused when it works and recreated when its interpreter is gone (e.g.
# python3 was upgraded). The package is installed with pip as a user would, built by
# scikit-build-core in $BUILD_DIR/py/<wheel tag> (incremental on re-runs, no build
# isolation so nothing is downloaded again); the tests also run the CLI built above.
VENV=$BUILD_DIR/venv
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "test: creating $VENV" >&2
  python3 -m venv --clear "$VENV"
fi
pip_install() { PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q "$@"; }
# Dependency groups (pyproject.toml: build, test) need pip >= 25.1.
if ! "$VENV/bin/python" -c 'import pip, sys; sys.exit(tuple(map(int, pip.__version__.split(".")[:2])) < (25, 1))'; then
  echo "test: upgrading pip in $VENV" >&2
  pip_install --upgrade "pip>=25.1"
fi
# The portable wheel and the sdist for this Python (scripts/wheel.sh), which
# tests/python/test_wheel.py, test_lambda_package.py and test_sdist.py install and run
# the way a user does; wheel.sh fails if the wheel's tag is newer than manylinux_2_34.
# Where a CPython 3.9 is at hand (~/.pyenv), its wheel too: wheel.sh installs and runs
# that one inside its Debian 11 root (glibc 2.31, the oldest system the tag claims).
wheel_pythons=("$("$VENV/bin/python" -c 'import sys; print(sys._base_executable)')")
for py in "$HOME"/.pyenv/versions/3.9.*/bin/python3.9; do
  [[ -x $py && ${wheel_pythons[0]} != *python3.9 ]] && { wheel_pythons+=("$py"); break; }
done
wheel_status=0
scripts/wheel.sh "${wheel_pythons[@]}" || wheel_status=$?
pytest_status=0
# Lint and types of the Python code (pyproject.toml: [tool.ruff], [tool.mypy]) and the
# C++ format (.clang-format), each reported, none stopping the others.
lint_status=0
if pip_install --group lint; then
  "$VENV/bin/ruff" check . || lint_status=$?
  "$VENV/bin/mypy" || lint_status=$?
else
  lint_status=1
fi
scripts/format.sh --check || lint_status=$?
if ! pip_install --group build --group test ||
   ! pip_install --no-build-isolation "--config-settings=build-dir=$BUILD_DIR/py/{wheel_tag}" .; then
  echo "test: installing the Python package failed" >&2
  pytest_status=1
else
  PGCDC_CLI=$BUILD_DIR/pgcdc "$VENV/bin/python" -m pytest || pytest_status=$?
fi

if ((ctest_status != 0 || wheel_status != 0 || pytest_status != 0 || lint_status != 0)); then
  echo "test: FAILED (ctest exit $ctest_status, wheel.sh exit $wheel_status," \
       "pytest exit $pytest_status, lint exit $lint_status)" >&2
  exit 1
fi
