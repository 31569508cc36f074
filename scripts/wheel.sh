#!/usr/bin/env bash
# Portable wheels: scripts/wheel.sh [PYTHON ...] builds one wheel per interpreter (default:
# every CPython 3.9-3.13 under ~/.pyenv/versions, else python3) into dist/, repaired by
# auditwheel so that every library outside the manylinux policy is inside the wheel, plus
# the sdist. Compiled in a Debian 11 root (scripts/wheel/make-root.sh) so the wheels are
# manylinux_2_31: Debian 11, Ubuntu 20.04, RHEL 9, Amazon Linux 2023 (Lambda Python 3.12+).
# Fails if a wheel's tag is newer than manylinux_2_34. Needs root (debootstrap, chroot,
# mount); safe to run again (the root is kept, wheels are rebuilt).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
export PGCDC_WHEEL_ROOT=${PGCDC_WHEEL_ROOT:-$src/build/wheel/root}
MAX_GLIBC_MINOR=34  # Lambda's Python 3.12/3.13 runtimes: Amazon Linux 2023, glibc 2.34

pythons=("$@")
if ((${#pythons[@]} == 0)); then
  for minor in 9 10 11 12 13; do
    for py in "$HOME"/.pyenv/versions/3."$minor".*/bin/python3."$minor"; do
      [[ -x $py ]] && { pythons+=("$py"); break; }
    done
  done
  ((${#pythons[@]})) || pythons=(python3)
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "wheel: needs root (debootstrap, chroot and bind mounts)" >&2; exit 1
fi
if ! command -v debootstrap >/dev/null || ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends debootstrap curl >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends debootstrap curl >&2; }
fi
scripts/wheel/make-root.sh "$PGCDC_WHEEL_ROOT"

# The compiler sees the sources, /tmp (pip's build environments, with pybind11) and the
# Python headers read-only; it writes only into $work (build directories, repaired wheels).
work=build/wheel/work
mkdir -p "$work"
trap 'scripts/wheel/mounts.sh umount "$PGCDC_WHEEL_ROOT"' EXIT
includes=()
for py in "${pythons[@]}"; do
  includes+=("$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')")
done
scripts/wheel/mounts.sh mount "$PGCDC_WHEEL_ROOT" "$src" /tmp "${includes[@]}" --rw "$work"

in_root_tools() {  # auditwheel inside the root, with its patchelf
  scripts/wheel/in-root env PATH=/opt/tools/bin:/usr/bin:/bin auditwheel "$@"
}

# A wheel for the root's own Python also gets installed and run inside the root.
root_tag=$(chroot "$PGCDC_WHEEL_ROOT" python3 -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
mkdir -p dist
for py in "${pythons[@]}"; do
  tag=$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
  venv=build/wheel/venv-$tag raw=$work/raw-$tag repaired=$work/repaired-$tag
  "$venv/bin/python" -c '' 2>/dev/null || "$py" -m venv --clear "$venv"
  rm -rf "$raw" "$repaired" dist/pgcdc-*-"$tag"-*.whl
  echo "wheel: building for $tag with $py" >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip wheel -q --no-deps -w "$raw" \
    "--config-settings=build-dir=$work/py/{wheel_tag}" \
    "--config-settings=cmake.define.CMAKE_TOOLCHAIN_FILE=$src/cmake/toolchains/wheel-root.cmake" .
  in_root_tools repair -w "$repaired" "$raw"/pgcdc-*.whl >&2
  wheel=$(ls "$repaired"/pgcdc-*.whl)
  in_root_tools show "$wheel" > "$raw/show.txt"
  scripts/wheel/check-tag.py "$MAX_GLIBC_MINOR" "$wheel" "$raw/show.txt"
  mv "$wheel" dist/
  if [[ $tag == "$root_tag" ]]; then
    scripts/wheel/smoke-in-root.sh "dist/$(basename "$wheel")" >&2
  fi
done

echo "wheel: building the sdist" >&2
venv=build/wheel/venv-sdist
"$venv/bin/python" -c 'import build' 2>/dev/null ||
  { python3 -m venv --clear "$venv" && "$venv/bin/python" -m pip install -q build; }
rm -f dist/pgcdc-*.tar.gz
"$venv/bin/python" -m build --sdist --outdir dist . >&2
ls -l dist >&2
