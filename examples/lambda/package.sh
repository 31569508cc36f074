#!/usr/bin/env bash
# Makes the Lambda deployment package (a .zip for the python3.12 runtime by default):
# handler.py at the top, pgcdc and protobuf beside it, as manylinux wheels for the
# runtime's Python, whatever machine this runs on. boto3 is in the runtime already.
#
#   examples/lambda/package.sh [WHEEL_DIR]
#   EXAMPLE=examples/s3 examples/lambda/package.sh [WHEEL_DIR]
#
# WHEEL_DIR: where pgcdc's wheel is, e.g. dist/ after `scripts/wheel.sh python3.12`.
# Environment: EXAMPLE (the directory whose *.py go into the package, and whose
# requirements.txt, if any, too; examples/lambda), PYTHON_VERSION (3.12; 3.13 works too;
# the 3.11 runtime is Amazon Linux 2, glibc 2.26, older than the wheel), PIP (python3 -m
# pip), OUT ($EXAMPLE/build).
set -euo pipefail
here=$(cd "${EXAMPLE:-$(dirname "$0")}" && pwd)
out=${OUT:-$here/build}
read -r -a pip <<<"${PIP:-python3 -m pip}"
find_links=()
[[ -n ${1-} ]] && find_links=(--find-links "$(cd "$1" && pwd)")
requirements=()
[[ -f $here/requirements.txt ]] && requirements=(--requirement "$here/requirements.txt")

rm -rf "$out/package" "$out/function.zip"
mkdir -p "$out/package"
# Every manylinux tag Amazon Linux 2023 (glibc 2.34) runs: pip takes --platform literally
# (manylinux_2_34 alone would refuse pgcdc's manylinux_2_31 wheel and protobuf's
# manylinux2014 one).
platforms=()
for minor in $(seq 34 -1 17); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
"${pip[@]}" install "${platforms[@]}" --platform manylinux2014_x86_64 --implementation cp \
  --python-version "${PYTHON_VERSION:-3.12}" --only-binary=:all: \
  --target "$out/package" "${find_links[@]}" pgcdc "${requirements[@]}"
cp "$here"/*.py "$out/package/"
(cd "$out/package" && python3 -m zipfile -c ../function.zip .)
echo "$out/function.zip"
