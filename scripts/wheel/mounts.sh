#!/usr/bin/env bash
# Bind mounts that let the build root's compiler see the host's paths at the same place:
# the source tree (with the build directories), /tmp (pip's build environments) and the
# Python headers. CMake runs on the host and passes host paths; only the compiler, the
# linker and auditwheel run inside the root.
#
#   mounts.sh mount ROOT PATH...   bind each PATH at ROOT/PATH (skipping those already bound)
#   mounts.sh umount ROOT          undo every mount under ROOT; fails if one stays
set -euo pipefail
cmd=${1:?usage: mounts.sh mount|umount ROOT [PATH...]}
root=$(realpath -m "${2:?usage: mounts.sh mount|umount ROOT [PATH...]}")
shift 2

mounted_under() {  # mount points below ROOT, deepest first
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r
}

case $cmd in
  mount)
    for path in "$@"; do
      path=$(realpath "$path")
      target=$root$path
      mounted_under | grep -qxF "$target" && continue
      mkdir -p "$target"
      mount --bind "$path" "$target"
    done ;;
  umount)
    mounted_under | while read -r target; do umount "$target" || umount -l "$target"; done
    if [[ -n $(mounted_under) ]]; then
      echo "wheel: still mounted under $root: $(mounted_under | tr '\n' ' ')" >&2
      exit 1
    fi ;;
  *) echo "mounts.sh: unknown command $cmd" >&2; exit 2 ;;
esac
