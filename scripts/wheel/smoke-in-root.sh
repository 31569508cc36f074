#!/usr/bin/env bash
# smoke-in-root.sh WHEEL: the oldest system the wheel's tag claims, for real. Installs a
# wheel made for the build root's own Python (Debian 11: CPython 3.9, glibc 2.31) into a
# fresh virtualenv there, from local files only, then imports pgcdc and runs its command
# (argument errors, and a connection attempt that loads libpq and its TLS libraries).
set -euo pipefail
wheel=$(realpath "${1:?usage: smoke-in-root.sh WHEEL}")
root=${PGCDC_WHEEL_ROOT:?}
dir=/var/tmp/smoke
rm -rf "$root$dir"
mkdir -p "$root$dir/wheels"
cp "$wheel" "$root$dir/wheels/"
chroot "$root" /bin/bash -s "$dir" "$(basename "$wheel")" <<'IN_ROOT'
set -euo pipefail
dir=$1 wheel=$2
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
unset PIP_FIND_LINKS
/opt/tools/bin/pip download -q --only-binary=:all: -d "$dir/wheels" protobuf
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install -q --no-index --find-links "$dir/wheels" "$dir/wheels/$wheel"
cd "$dir"
"$dir/venv/bin/python" -I -c 'import pgcdc, pgcdc.v1.change_pb2; print("import ok", pgcdc.__version__)'
[[ $("$dir/venv/bin/pgcdc" --version) == $("$dir/venv/bin/python" -I -c 'import pgcdc; print(pgcdc.__version__)') ]]
set +e
out=$("$dir/venv/bin/pgcdc" stream --slot s 2>&1); status=$?
[[ $status == 2 && $out == *"--dsn is required"* ]] || { echo "stream: $status $out"; exit 1; }
out=$("$dir/venv/bin/pgcdc" check --dsn "host=127.0.0.1 port=1 sslmode=prefer connect_timeout=5" 2>&1)
status=$?
[[ $status != 0 && $out == *"127.0.0.1"* ]] || { echo "check: $status $out"; exit 1; }
echo "smoke in the root (glibc $(ldd --version | head -1 | awk '{print $NF}')): ok"
IN_ROOT
