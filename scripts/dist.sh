#!/usr/bin/env bash
# dist/logdiag-VERSION-linux-ARCH.tar.gz: a release binary with the Swift runtime and Foundation
# linked statically, and PCRE2 and libarchive with its compressors from their static archives;
# plus the man page, completions, LICENSE and README. `ldd` below lists what it still needs.
set -euo pipefail
version=$1 arch=$2 gen=$3
scratch=.build-dist
# The C libraries from their static archives (Package.swift's LOGDIAG_STATIC_C: the system-library
# targets then autolink nothing). libarchive's own dependencies are what its reader calls: the
# compressors (gzip, xz, zstd; bzip2 and lz4 through its version strings) and nettle (zip
# encryption); it never reads or writes disks, so no libacl, and no xar, so no libxml2.
libdir=/usr/lib/$(uname -m)-linux-gnu
need=()
for pair in pcre2-8:libpcre2-dev archive:libarchive-dev nettle:nettle-dev lzma:liblzma-dev zstd:libzstd-dev \
            lz4:liblz4-dev bz2:libbz2-dev z:zlib1g-dev; do
  [ -f "$libdir/lib${pair%%:*}.a" ] || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} (static libraries for the dist binary) ..."
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
inputs=(-Xlinker --start-group)
for l in pcre2-8 archive nettle lzma zstd lz4 bz2 z; do inputs+=(-Xlinker "$libdir/lib$l.a"); done
inputs+=(-Xlinker --end-group)
rm -f "$scratch/release/logdiag"  # linker flags alone do not make SwiftPM link again
# libgcc too (clang's -static-libgcc); libstdc++ stays shared: the Swift runtime's driver names it
# itself, and it is on every Debian and Ubuntu system (apt needs it).
LOGDIAG_STATIC_C=1 swift build -c release --static-swift-stdlib --scratch-path "$scratch" "${inputs[@]}" \
  -Xswiftc -Xclang-linker -Xswiftc -static-libgcc
bin=$scratch/release/logdiag
name=logdiag-$version-linux-$arch
rm -rf "dist/$name" && mkdir -p "dist/$name"
cp "$bin" "dist/$name/logdiag" && strip "dist/$name/logdiag"
cp README.md LICENSE "dist/$name/" 2>/dev/null || cp README.md "dist/$name/"
mkdir -p "dist/$name/completions" "dist/$name/man"
cp "$gen/logdiag.bash" "$gen/_logdiag" "$gen/logdiag.fish" "dist/$name/completions/"
cp "$gen/logdiag.1" "dist/$name/man/"
tar -C dist -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz: $(du -h "dist/$name.tar.gz" | cut -f1), binary $(du -h "dist/$name/logdiag" | cut -f1)"
echo "shared libraries it needs:"; ldd "dist/$name/logdiag" | sed 's/ (0x[0-9a-f]*)//'
# Nothing beyond glibc and libstdc++: a C library that slipped back to its shared form fails here.
extra=$(readelf -d "dist/$name/logdiag" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' \
  | grep -vE '^(libc|libm|libstdc\+\+|ld-linux-[a-z0-9_-]+)\.so\.[0-9]+$' || true)
[ -z "$extra" ] || { echo "dist: the binary links more than glibc and libstdc++: $extra" >&2; exit 1; }
