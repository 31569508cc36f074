#!/usr/bin/env bash
# Bind mounts that let the build root's compiler see the host's paths at the same place:
# the source tree (with the build directories), /tmp (pip's build environments) and the
# Python headers. CMake runs on the host and passes host paths; only the compiler, the
# linker and auditwheel run inside the root.
#
#   mounts.sh mount ROOT PATH... [--rw PATH...]   bind each PATH at ROOT/PATH, read-only
#                                                  unless after --rw (skips bound ones)
#   mounts.sh umount ROOT          undo every mount under ROOT; fails if one stays
#
# Read-only matters: the root lives in the source tree, so the source tree's bind shows up
# inside it; an `rm -rf build` while the mounts are there (wheel.sh killed by SIGKILL)
# stops at the read-only binds instead of deleting through them.
set -euo pipefail
cmd=${1:?usage: mounts.sh mount|umount ROOT [PATH...]}
root=$(realpath -m "${2:?usage: mounts.sh mount|umount ROOT [PATH...]}")
shift 2

mounted_under() {  # mount points below ROOT, deepest first
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r
}

case $cmd in
  mount)
    # Parents before children (the source tree may be under /tmp): a later bind of a
    # parent would hide an earlier one of its child, and umount could not reach it.
    mode=ro
    for path in "$@"; do
      [[ $path == --rw ]] && { mode=rw; continue; }
      printf '%s\t%s\n' "$(realpath "$path")" "$mode"
    done | sort -t$'\t' -k1,1 -u | while IFS=$'\t' read -r path mode; do
      target=$root$path
      mounted_under | grep -qxF "$target" && continue
      mkdir -p "$target"
      mount --bind -o "$mode" "$path" "$target"
    done ;;
  umount)
    mounted_under | while read -r target; do umount "$target" || umount -l "$target"; done
    if [[ -n $(mounted_under) ]]; then
      echo "wheel: still mounted under $root: $(mounted_under | tr '\n' ' ')" >&2
      exit 1
    fi ;;
  *) echo "mounts.sh: unknown command $cmd" >&2; exit 2 ;;
esac
