#!/usr/bin/env bash
# Builds two local stand-ins for deploy/Dockerfile's base images, for machines
# that reach no container registry (only Debian's and npm's):
#
#   localhost/proxy-server-test/node:2      NODE_IMAGE: node and npm (this machine's),
#                                         bash, dash and coreutils, CA certificates (this machine's, for
#                                         NODE_EXTRA_CA_CERTS)
#   localhost/proxy-server-test/runtime:2   RUNTIME_IMAGE: glibc and a nonroot user,
#                                         as in distroless/cc
#
# Each is a rootfs of this machine's files (with the shared libraries they
# link) committed with buildah; an image that exists already is kept (the
# tag changes when what goes in does).
# Prints nothing but errors. Usage: test/deploy/container-bases.sh
set -euo pipefail
exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Copy each file (dereferenced) and the libraries ldd lists for it into $1.
with_libs() {
  local root="$1"; shift
  local f lib
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    cp -L "$f" "$root$f"
    for lib in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' || true); do
      mkdir -p "$root$(dirname "$lib")"
      [ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
    done
  done
}

# Commit the rootfs $1 as image $2; the rest are `buildah config` options.
import() {
  local root="$1" name="$2" ctr; shift 2
  mkdir -p "$root/tmp" "$root/etc" && chmod 1777 "$root/tmp"
  ctr="$(buildah from scratch)"
  buildah copy --quiet "$ctr" "$root" / >/dev/null
  [ $# -eq 0 ] || buildah config "$@" "$ctr"
  buildah commit --quiet --rm "$ctr" "$name" >/dev/null
}

if ! exists localhost/proxy-server-test/runtime:2; then
  root="$work/runtime"
  # What the bun build --compile executable links (as bun itself does):
  # libc, libm, libpthread, libdl, ld.so.
  bun="$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/../../node_modules/.bin/bun")"
  with_libs "$root" "$bun"
  rm -f "$root$bun"
  mkdir -p "$root/etc"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  import "$root" localhost/proxy-server-test/runtime:2
fi

if ! exists localhost/proxy-server-test/node:2; then
  root="$work/node"
  tools=(bash dash env uname dirname basename readlink mkdir cat grep sed tail head test rm cp mv ln chmod
    ls sha256sum tr sort cut wc id true false touch printf tee mktemp date)
  paths=()
  for t in "${tools[@]}"; do paths+=("$(type -P "$t")"); done
  with_libs "$root" "${paths[@]}" "$(readlink -f "$(command -v node)")"
  [ -e "$root/usr/bin/node" ] || { mkdir -p "$root/usr/bin"; cp -L "$(command -v node)" "$root/usr/bin/node"; }
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  mkdir -p "$root$(dirname "$npm_dir")" && cp -a "$npm_dir" "$root$npm_dir"
  ln -sf "$npm_dir/bin/npm-cli.js" "$root/usr/bin/npm"
  mkdir -p "$root/bin" && ln -sf /usr/bin/dash "$root/bin/sh"
  [ -e "$root/bin/bash" ] || ln -sf /usr/bin/bash "$root/bin/bash"
  mkdir -p "$root/etc/ssl/certs" "$root/root"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  import "$root" localhost/proxy-server-test/node:2 --env PATH=/usr/local/bin:/usr/bin:/bin --env HOME=/root \
    --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
