#!/usr/bin/env bash
# Builds local stand-ins for the official node:22-bookworm-slim image, offline: this workplace reaches only
# Debian's mirror and the npm registry (no Docker Hub), so the Dockerfile's BASE_IMAGE/BUILD_IMAGE args point here.
#
#   localhost/secureflow-node22-base   Debian bookworm minbase (debootstrap) + Node 22 (bin/node of the npm package
#                                      node-linux-<arch>) + npm + user node (uid 1000): the runtime stage's base
#   localhost/secureflow-node22-build  the base + Node's headers (include/node of the same package) + python3, make,
#                                      g++: the build stage's base (better-sqlite3 compiles from source here)
#
# Usage: scripts/build-base-image.sh [--force]    (skips when both images exist, unless --force)
# Env:   NODE_SPEC (default 22), NPM_SPEC (default 10, what Node 22 bundles), DEBIAN_MIRROR (default: the host's apt
#        mirror), PODMAN_RUNTIME (default runc if installed, else podman's default), BASE_IMAGE, BUILD_IMAGE.
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-localhost/secureflow-node22-base}"
BUILD_IMAGE="${BUILD_IMAGE:-localhost/secureflow-node22-build}"
NODE_SPEC="${NODE_SPEC:-22}"
NPM_SPEC="${NPM_SPEC:-10}"
SUITE=bookworm

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[base-image] %s\n' "$*" >&2; }

# debootstrap, chroot and a rootful podman store need root.
if [ "$(id -u)" -ne 0 ]; then
  echo "build-base-image.sh must run as root (debootstrap, chroot, podman import)" >&2
  exit 1
fi

# The tools come from Debian's packages: a fresh machine of this kind does not have them.
need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v runc >/dev/null || need+=(runc)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]} from Debian's packages"
  apt-get update -q >/dev/null
  # With recommends: podman's networking and storage helpers come as recommends (the set seen working here).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

# runc is the runtime seen working on this kind of machine; podman's default (crun) is the fallback.
PODMAN_RUNTIME="${PODMAN_RUNTIME:-$(command -v runc >/dev/null && echo runc || true)}"
runtime_args=()
[ -n "$PODMAN_RUNTIME" ] && runtime_args=(--runtime "$PODMAN_RUNTIME")
# Explicit, modest ulimits: this sandbox lacks CAP_SYS_RESOURCE, and podman's defaults (nofile 1048576, a high nproc)
# make the runtime's setrlimit fail with "operation not permitted".
cap() { local hard="$1"; [ "$hard" = unlimited ] || [ "$hard" -gt 16384 ] && hard=16384; echo "$hard"; }
ulimit_args=(--ulimit "nofile=$(cap "$(ulimit -Hn)"):$(cap "$(ulimit -Hn)")" --ulimit "nproc=$(cap "$(ulimit -Hu)"):$(cap "$(ulimit -Hu)")")

if [ "$force" -eq 0 ] && podman image exists "$BASE_IMAGE" && podman image exists "$BUILD_IMAGE"; then
  log "$BASE_IMAGE and $BUILD_IMAGE exist (pass --force to rebuild)"
  exit 0
fi

# The mirror apt already uses here (deb822 'URIs:' or one-line 'deb URL'), so debootstrap reaches the same host.
detect_mirror() {
  local url
  url="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ')"
  echo "${url:-http://deb.debian.org/debian}"
}
DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(detect_mirror)}"
DEBIAN_MIRROR="${DEBIAN_MIRROR%/}"

case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) echo "unsupported architecture: $(uname -m)" >&2; exit 1 ;;
esac

work="$(mktemp -d /var/tmp/secureflow-base.XXXXXX)"
root="$work/rootfs"
cleanup() {
  # debootstrap leaves /proc and /sys mounted if it fails half-way; never rm -rf through a mount.
  umount -R "$root/proc" 2>/dev/null || true
  umount -R "$root/sys" 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# 1. A minimal Debian root: minbase is essential packages + apt, like the debian:bookworm-slim image.
log "debootstrap $SUITE (minbase) from $DEBIAN_MIRROR"
t0=$SECONDS
debootstrap --variant=minbase --components=main "$SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
log "debootstrap done in $((SECONDS - t0))s"

# Same suites as the official images, so apt-get in the build image gets updates and security fixes.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_MIRROR-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# 2. Node from the npm registry: node-linux-<arch> holds bin/node and include/node (the headers node-gyp needs).
log "npm pack node-linux-$node_arch@$NODE_SPEC npm@$NPM_SPEC"
(cd "$work" && npm pack --silent "node-linux-$node_arch@$NODE_SPEC" "npm@$NPM_SPEC" >"$work/packed.txt")
node_tgz="$work/$(grep '^node-linux' "$work/packed.txt")"
npm_tgz="$work/$(grep '^npm-' "$work/packed.txt")"
mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
tar -xzf "$node_tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
# include/node (65 MB) goes only into the build image (step 5): the runtime never compiles.
tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
node_version="$(chroot "$root" /usr/local/bin/node --version)"
npm_version="$(chroot "$root" /usr/local/bin/node /usr/local/bin/npm --version 2>/dev/null)"
log "node $node_version, npm $npm_version"

# The official images have user node (1000:1000); the Dockerfile's final stage runs as it.
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# 3. Trim what a container never reads (docs, man pages, apt caches), as the slim images do.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
  "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true

# 4. Import the root as an image (no registry involved), with the official image's PATH and CMD.
log "podman import -> $BASE_IMAGE"
podman image rm -f "$BASE_IMAGE" "$BUILD_IMAGE" >/dev/null 2>&1 || true
tar --numeric-owner --exclude='./proc/*' --exclude='./sys/*' -C "$root" -cf - . |
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase + Node $node_version (local stand-in for node:22-$SUITE-slim)\"" \
    --change 'CMD ["node"]' \
    --quiet - "$BASE_IMAGE" >/dev/null

# 5. The build image: the base + Node's headers + a compiler toolchain (from Debian's mirror, host network).
log "podman build -> $BUILD_IMAGE (node headers, python3 make g++)"
podman build "${runtime_args[@]}" --network host "${ulimit_args[@]}" -t "$BUILD_IMAGE" -f - "$work/node" <<EOF >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }
FROM $BASE_IMAGE
COPY package/include/node /usr/local/include/node
RUN apt-get update -q \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 make g++ \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
EOF

for image in "$BASE_IMAGE" "$BUILD_IMAGE"; do
  log "$image: $(podman image inspect --format '{{.Size}}' "$image") bytes"
done
