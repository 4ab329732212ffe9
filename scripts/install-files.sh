#!/usr/bin/env bash
# Installs logdiag under a prefix: binary, man page, bash/zsh/fish completions, and the
# kubectl-logdiag link that makes `kubectl logdiag ...` work. Used by `make install` and the packages.
set -euo pipefail
prefix=$1 bin=$2 gen=$3
install -Dm755 "$bin" "$prefix/bin/logdiag"
ln -sf logdiag "$prefix/bin/kubectl-logdiag"
install -Dm644 "$gen/logdiag.1" "$prefix/share/man/man1/logdiag.1"
install -Dm644 "$gen/logdiag.bash" "$prefix/share/bash-completion/completions/logdiag"
install -Dm644 "$gen/_logdiag" "$prefix/share/zsh/site-functions/_logdiag"
install -Dm644 "$gen/logdiag.fish" "$prefix/share/fish/vendor_completions.d/logdiag.fish"
echo "installed logdiag $("$prefix/bin/logdiag" --version) in $prefix"
