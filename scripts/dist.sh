#!/usr/bin/env bash
# dist/logdiag-VERSION-linux-ARCH.tar.gz: a release binary with the Swift runtime and Foundation
# linked statically, plus the man page, completions and README. It still links PCRE2 and
# libarchive as shared libraries (SwiftPM's system-library targets autolink them ahead of any
# static archive given here); `ldd` below lists what it needs, and the README says so.
set -euo pipefail
version=$1 arch=$2 gen=$3
scratch=.build-dist
# A folder holding only the static C libraries, searched first: the linker takes the .a files.
static=$scratch/static-libs
mkdir -p "$static"
for lib in pcre2-8 archive z bz2 lzma zstd lz4 nettle acl xml2; do
  for d in /usr/lib/$(uname -m)-linux-gnu /usr/lib; do
    [ -f "$d/lib$lib.a" ] && { cp -f "$d/lib$lib.a" "$static/"; break; }
  done
done
# The .a files go in as linker inputs ahead of the autolinked -l flags, and --as-needed drops
# the shared libraries whose symbols they already provide.
inputs=()
for l in archive pcre2-8 nettle lzma zstd bz2 z; do
  [ -f "$static/lib$l.a" ] && inputs+=(-Xlinker "$PWD/$static/lib$l.a")
done
rm -f "$scratch/release/logdiag"  # linker flags alone do not make SwiftPM link again
swift build -c release --static-swift-stdlib --scratch-path "$scratch" -Xlinker --as-needed "${inputs[@]}"
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
