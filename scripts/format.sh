#!/usr/bin/env bash
# Formats the C++ sources with clang-format (.clang-format: Google style, 100 columns).
# --check changes nothing and fails, naming the files, when any would change (run by
# scripts/test.sh). Installs Debian's clang-format when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "format: clang-format is missing: apt-get install clang-format" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends clang-format >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends clang-format >&2; }
fi
mapfile -t files < <(find include src tools bindings tests bench examples \
                       \( -name '*.cc' -o -name '*.h' \) -type f | sort)
if [[ ${1:-} == --check ]]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/dev/null; then
    echo "format: these files are not formatted (scripts/format.sh fixes them):" >&2
    for f in "${files[@]}"; do
      clang-format "$f" | cmp -s - "$f" || echo "  $f" >&2
    done
    exit 1
  fi
  exit 0
fi
clang-format -i "${files[@]}"
