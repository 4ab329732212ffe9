#!/usr/bin/env bash
# make package-test: the packages on a Debian root file system that has no Swift.
#  1. the dist tarball, unpacked into a debootstrap'd minbase tree, runs the seed case (chroot);
#  2. the .deb installs there with dpkg -i; `logdiag --version` and the seed case run;
#  3. with a Docker daemon: the image from the Containerfile (its base imported from that tree)
#     gets the seed case's diagnosis from `docker run --rm -i`.
set -euo pipefail
version=$1 arch=$2
cache=.build-rootfs   # ignored (.build-*), reused between runs
tarball=dist/logdiag-$version-linux-$arch.tar.gz
deb=$(ls dist/logdiag_"$version"_*.deb)
seed=Corpus/kube-proxy/lxd-conntrack-max
fail() { echo "package-test: $*" >&2; exit 1; }
command -v debootstrap >/dev/null || { apt-get install -y -qq debootstrap >/dev/null || fail "debootstrap is not installed"; }
if [ ! -x "$cache/base/bin/sh" ]; then
  rm -rf "$cache/base"; mkdir -p "$cache"
  debootstrap --variant=minbase bookworm "$cache/base" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
    || { tail -5 "$cache/debootstrap.log" >&2; fail "debootstrap could not build the root file system"; }
fi
check() {  # $1: what, $2: output file, $3: exit status
  [ "$3" = 1 ] || fail "$1: exit status $3, expected 1 (a root cause found)"
  grep -q 'kube-proxy.conntrack-max-permission' "$2" || fail "$1: the seed case's cause is missing"
  echo "package-test: $1: the seed case's cause found"
}
# Each tree gets /proc, as every real system and container has (Swift reads argv from it).
mounted=()
cleanup() { for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
fresh() {
  rm -rf "$cache/$1"; cp -a "$cache/base" "$cache/$1"; cp "$seed"/*.log "$cache/$1/tmp/"; cp /etc/resolv.conf "$cache/$1/etc/"
  mount -t proc proc "$cache/$1/proc" && mounted+=("$cache/$1/proc")
}

fresh tar
chroot "$cache/tar" sh -c 'command -v swift swiftc' >/dev/null 2>&1 && fail "the root file system has Swift"
tar -C "$cache/tar/opt" -xzf "$tarball"
# Nothing installed first: the binary needs only what a minimal Debian has (glibc, libstdc++).
set +e
chroot "$cache/tar" "/opt/logdiag-$version-linux-$arch/logdiag" /tmp/kube-proxy.log /tmp/rancher-server.log >"$cache/tar.out" 2>&1
status=$?
set -e
check "tarball in a Debian root without Swift" "$cache/tar.out" $status

fresh deb
cp "$deb" "$cache/deb/tmp/logdiag.deb"
# dpkg -i, with apt bringing the Depends the package states (as `apt install ./logdiag.deb` does).
chroot "$cache/deb" sh -c 'dpkg -i /tmp/logdiag.deb; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -f' >"$cache/dpkg.out" 2>&1 \
  || { tail -5 "$cache/dpkg.out" >&2; fail "dpkg -i failed"; }
[ "$(chroot "$cache/deb" logdiag --version)" = "$version" ] || fail "logdiag --version after dpkg -i"
[ -f "$cache/deb/usr/share/man/man1/logdiag.1" ] || fail "the .deb installed no man page"
set +e
chroot "$cache/deb" kubectl-logdiag /tmp/kube-proxy.log /tmp/rancher-server.log >"$cache/deb.out" 2>&1
status=$?
set -e
check ".deb installed with dpkg -i (run as kubectl-logdiag)" "$cache/deb.out" $status

if docker info >/dev/null 2>&1; then
  tar -C "$cache/base" -c . | docker import - logdiag-base:bookworm >/dev/null
  docker build -q -f Containerfile --build-arg BASE=logdiag-base:bookworm --build-arg TARBALL="$tarball" \
    -t logdiag:"$version" . >/dev/null || fail "docker build of the Containerfile"
  set +e
  cat "$seed"/*.log | docker run --rm -i logdiag:"$version" >"$cache/image.out" 2>&1
  status=$?
  set -e
  check "the container image (docker run --rm -i)" "$cache/image.out" $status
  [ "$(docker run --rm --entrypoint id logdiag:"$version" -u)" != 0 ] || fail "the image runs as root"
  # As the DaemonSet runs it: uid 0 without capabilities, read-only root and logs, `watch`
  # serving metrics; the seed's kube-proxy line, as the CRI writes it, must show as a finding.
  logs=$(mktemp -d); : >"$logs/kube-proxy-x_kube-system_kube-proxy-0.log"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cid=$(docker run -d --network host -u 0 --read-only --cap-drop ALL --security-opt no-new-privileges \
    -v "$logs":/var/log/containers:ro -e NODE_NAME=package-node logdiag:"$version" \
    watch '/var/log/containers/*.log' --listen 127.0.0.1:"$port" -o ndjson --tail 0)
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  printf '%s stderr F F%s       1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)" "$(date -u +'%m%d %H:%M:%S.000000')" >>"$logs/kube-proxy-x_kube-system_kube-proxy-0.log"
  found=0
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null \
      | grep -q 'logdiag_findings{rule="kube-proxy.conntrack-max-permission",severity="fatal",component="kube-proxy",node="package-node"} 1' \
      && { found=1; break; }
    sleep 0.2
  done
  docker logs "$cid" >"$cache/watch.out" 2>&1 || true
  docker rm -f "$cid" >/dev/null; rm -rf "$logs"
  [ $found = 1 ] || { tail -5 "$cache/watch.out" >&2; fail "the image as the DaemonSet runs it: no finding in /metrics"; }
  grep -q '"state":"new"' "$cache/watch.out" || fail "the image as the DaemonSet runs it: no NDJSON finding on stdout"
  echo "package-test: ok: the image running watch as the DaemonSet does (metrics and NDJSON)"
else
  echo "package-test: no Docker daemon; the image is not built" >&2
fi
echo "package-test: passed"
