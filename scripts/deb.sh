#!/usr/bin/env bash
# dist/logdiag_VERSION_ARCH.deb with dpkg-deb: the dist binary and files under /usr.
set -euo pipefail
version=$1 arch=$2 gen=$3
debarch=$(dpkg --print-architecture)
root=dist/deb-root
rm -rf "$root" && mkdir -p "$root/DEBIAN"
bash scripts/install-files.sh "$root/usr" "dist/logdiag-$version-linux-$arch/logdiag" "$gen" >/dev/null
mkdir -p "$root/usr/share/doc/logdiag"
cp LICENSE "$root/usr/share/doc/logdiag/copyright"
# Depends: what the binary links, as packages (dpkg -S of each library ldd lists).
deps=$( { echo libc6; for lib in $(ldd "$root/usr/bin/logdiag" | awk '/=>/ {print $3}'); do
  real=$(readlink -f "$lib")
  for p in "$lib" "$real" "${real#/usr}"; do dpkg -S "$p" 2>/dev/null && break; done
done; } | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g' || true)
cat > "$root/DEBIAN/control" <<CONTROL
Package: logdiag
Version: $version
Architecture: $debarch
Maintainer: logdiag developers <logdiag@users.noreply.github.com>
Depends: ${deps:-libc6}
Section: admin
Priority: optional
Description: find why a Kubernetes or Rancher cluster will not come up, from its logs
 Reads logs of kube-proxy, the kubelet, Rancher, RKE, etcd and the container runtime and says
 what is wrong, why, and how to fix it, with the evidence lines.
CONTROL
dpkg-deb --root-owner-group --build "$root" "dist/logdiag_${version}_${debarch}.deb" >/dev/null
echo "dist/logdiag_${version}_${debarch}.deb: $(du -h "dist/logdiag_${version}_${debarch}.deb" | cut -f1), Depends: ${deps:-libc6}"
