#!/usr/bin/env bash
# End-to-end test of the container image (npm run test:container): builds the local base images if missing, builds
# the app image with podman, then runs it as Fly would (HOST=0.0.0.0, PORT from the environment, migrations first)
# against a SQLite file in a temporary directory, and checks health, a prediction with an API key, the non-root
# user, the image's HEALTHCHECK and a clean SIGTERM stop. Prints PASS/FAIL lines and exits non-zero on any failure.
#
# Env: IMAGE (default localhost/secureflow:test), BASE_IMAGE / BUILD_IMAGE (default: the local stand-ins made by
#      scripts/build-base-image.sh; set both to node:22-bookworm-slim where a registry is reachable),
#      PODMAN_RUNTIME (default runc when installed), KEEP_IMAGE=0 to remove the app image afterwards,
#      NO_CACHE=1 for a cold build of the app image.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-localhost/secureflow:test}"
BASE_IMAGE="${BASE_IMAGE:-localhost/secureflow-node22-base}"
BUILD_IMAGE="${BUILD_IMAGE:-localhost/secureflow-node22-build}"
KEEP_IMAGE="${KEEP_IMAGE:-1}"
container="secureflow-ctest-$$"

passed=0
failed=0
timings=()
pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
note() { printf '  .. %s\n' "$*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Runs a step and records how long it took. Not in a $(...) subshell: the timing would be lost with it.
timed() {
  local name="$1" start ms rc=0
  shift
  start=$(now_ms)
  "$@" || rc=$?
  ms=$(( $(now_ms) - start ))
  timings+=("$(printf '%-32s %4d.%03ds' "$name" $((ms / 1000)) $((ms % 1000)))")
  return "$rc"
}

summary() {
  echo
  echo "timings:"
  printf '  %s\n' "${timings[@]}"
  echo "$passed passed, $failed failed"
}

# podman and runc come from Debian's packages: a fresh machine of this kind has neither.
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "FAIL podman/runc missing: apt-get install podman runc (as root)"; exit 1; fi
  note "installing podman runc from Debian's packages"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >/dev/null
fi

# 1. The local base images: made once, offline (debootstrap + the npm registry), reused afterwards.
if [[ "$BASE_IMAGE" == localhost/* || "$BUILD_IMAGE" == localhost/* ]]; then
  if ! timed "base images (build or reuse)" bash scripts/build-base-image.sh; then
    fail "local base images could not be built (scripts/build-base-image.sh)"
    summary
    exit 1
  fi
fi

# runc is the runtime seen working here; modest explicit ulimits because this sandbox lacks CAP_SYS_RESOURCE and
# podman's defaults (nofile 1048576, high nproc) make the runtime's setrlimit fail.
PODMAN_RUNTIME="${PODMAN_RUNTIME:-$(command -v runc >/dev/null && echo runc || true)}"
cap() { local hard="$1"; [ "$hard" = unlimited ] || [ "$hard" -gt 16384 ] && hard=16384; echo "$hard"; }
common=(--ulimit "nofile=$(cap "$(ulimit -Hn)"):$(cap "$(ulimit -Hn)")" --ulimit "nproc=$(cap "$(ulimit -Hu)"):$(cap "$(ulimit -Hu)")")
[ -n "$PODMAN_RUNTIME" ] && common=(--runtime "$PODMAN_RUNTIME" "${common[@]}")

data="$(mktemp -d /tmp/secureflow-ctest.XXXXXX)"
cleanup() {
  podman rm -f -t 0 "$container" >/dev/null 2>&1 || true
  rm -rf "$data"
  if [ "$KEEP_IMAGE" = 0 ]; then podman image rm -f "$IMAGE" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# 2. The app image. Host network: npm reaches the registry as the host does. The host's CA bundle is mounted for
# the build only (a TLS-intercepting proxy's CA would otherwise be unknown to npm inside); it is not in the image.
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
# --format docker: the OCI format drops HEALTHCHECK. --pull=never for the local bases: there is no registry to ask.
pull=missing
[[ "$BASE_IMAGE" == localhost/* && "$BUILD_IMAGE" == localhost/* ]] && pull=never
build=(podman build "${common[@]}" --format docker --network host "--pull=$pull"
  --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_IMAGE=$BUILD_IMAGE" -t "$IMAGE")
# NO_CACHE=1 rebuilds every layer (a cold build, as on a fresh CI machine).
[ "${NO_CACHE:-0}" = 1 ] && build+=(--no-cache)
if [ -f "$ca" ]; then
  build+=(-v "$ca:/run/secureflow-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/secureflow-build-ca.crt)
fi
build_log="$data/build.log"
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
if timed "podman build (app image)" "${build[@]}" . >"$build_log" 2>&1; then
  pass "image builds ($IMAGE)"
else
  fail "image builds: last lines of the build log:"
  tail -n 40 "$build_log"
  summary
  exit 1
fi
# The previous build of this tag would be left dangling: remove it (only it; other images are not ours to prune).
new_id=$(podman image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then podman image rm "$old_id" >/dev/null 2>&1 || true; fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
note "image size: $size bytes ($(( (size + 524288) / 1048576 )) MiB)"

# The image's metadata, as a reader of the Dockerfile expects it.
[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" = node ] && pass "image USER is node" || fail "image USER is not node"
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q /api/health &&
  pass "image HEALTHCHECK targets /api/health" || fail "image has no HEALTHCHECK on /api/health"

# 3. A free port on loopback for the host-network container.
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
base="http://127.0.0.1:$port"
note "port $port, data dir $data"

# The container's user (uid 1000) owns the volume, like a Fly volume mounted for it.
chown 1000:1000 "$data"
run=(podman run "${common[@]}" --network host -v "$data:/data" -e SECUREFLOW_DB=/data/secureflow.db)

# 4. Migrations, as fly.toml's release_command runs them, then an API key for the scorer.
if timed "migrate (release_command)" "${run[@]}" --rm "$IMAGE" node bin/secureflow migrate >"$data/migrate.log" 2>&1; then
  pass "secureflow migrate runs in the image"
else
  fail "secureflow migrate:"; cat "$data/migrate.log"
fi
key_json="$data/key.json"
if timed "keys create" "${run[@]}" --rm "$IMAGE" node bin/secureflow keys create --name container-test --role scorer --format json >"$key_json" 2>"$data/keys.err"; then
  key=$(node -e "const k=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'));if(!k.key)process.exit(1);console.log(k.key)" "$key_json") &&
    pass "secureflow keys create prints a key" || { fail "keys create printed no key:"; cat "$key_json"; key=""; }
else
  fail "secureflow keys create:"; cat "$data/keys.err"; key=""
fi

# 5. The daemon, with the image's own command and HOST=0.0.0.0 (it refuses a public address without keys: the key
# just created lets it start). --no-healthcheck: podman schedules healthchecks with systemd timers, and there is
# no systemd here; the image's HEALTHCHECK command is run by hand in step 7 instead.
if ! timed "podman run -d (serve)" "${run[@]}" -d --name "$container" -e PORT="$port" -e LOG_LEVEL=warn \
  --no-healthcheck "$IMAGE" >/dev/null; then
  fail "podman run (serve) did not start"
  summary
  exit 1
fi

health_wait() {
  node -e '
    const url = process.argv[1], until = Date.now() + 30000;
    (async () => {
      for (;;) {
        try { const r = await fetch(url); const b = await r.json(); if (r.ok && b.status === "healthy") return; } catch {}
        if (Date.now() > until) process.exit(1);
        await new Promise((ok) => setTimeout(ok, 200));
      }
    })();' "$base/api/health"
}
if timed "serve -> healthy" health_wait; then
  pass "GET /api/health is healthy on 0.0.0.0:$port"
else
  fail "daemon not healthy within 30s; its logs:"
  podman logs "$container" 2>&1 | tail -n 40
  summary
  exit 1
fi

# 6. One prediction with the key; and none without it.
predict() {
  node -e '
    const [url, key] = process.argv.slice(1);
    const headers = { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) };
    const body = JSON.stringify({ amount: 120, hour: 3, day_of_week: 6, merchant_category: 9, transaction_type: 2 });
    fetch(url, { method: "POST", headers, body }).then(async (r) => { console.log(r.status); console.log(await r.text()); }, (e) => { console.log(0); console.log(e.message); });
  ' "$base/api/predict" "${1:-}"
}
timed "POST /api/predict" predict "$key" >"$data/predict.out"
status=$(head -n 1 "$data/predict.out"); body=$(tail -n +2 "$data/predict.out")
if [ "$status" = 200 ] && node -e 'const b=JSON.parse(process.argv[1]);process.exit(typeof b.anomaly_score==="number"&&b.transaction_id!=null?0:1)' "$body"; then
  pass "POST /api/predict with the key: 200 with anomaly_score and transaction_id"
else
  fail "POST /api/predict with the key: $status $body"
fi
status=$(predict "" | head -n 1)
[ "$status" = 401 ] && pass "POST /api/predict without a key: 401" || fail "POST /api/predict without a key: $status (expected 401)"

# 7. The image's HEALTHCHECK command itself (node + fetch inside the container), as the engine would run it.
hc=$(podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE" |
  node -e 'const t=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(t[0]==="CMD-SHELL"?t[1]:"")')
if [ -n "$hc" ] && timed "HEALTHCHECK command" podman exec "$container" /bin/sh -c "$hc"; then
  pass "HEALTHCHECK command exits 0 inside the container"
else
  fail "HEALTHCHECK command failed: $hc"
fi

# 8. Not root.
uid=$(podman exec "$container" id -u || echo unknown)
[ "$uid" != 0 ] && [ "$uid" != unknown ] && pass "daemon runs as uid $uid (non-root)" || fail "daemon runs as root"
pid1=$(podman exec "$container" cat /proc/1/cmdline | tr '\0' ' ' || true)
note "PID 1: $pid1"

# 9. SIGTERM: podman stop sends the image's STOPSIGNAL, then SIGKILL after 10 s; a clean stop is quick and exits 0.
stop_start=$(now_ms)
timed "podman stop -t 10 (SIGTERM)" podman stop -t 10 "$container" >/dev/null || true
stop_ms=$(( $(now_ms) - stop_start ))
code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
if [ "$code" = 0 ] && [ "$stop_ms" -lt 5000 ]; then
  pass "SIGTERM: exited 0 in ${stop_ms} ms"
else
  fail "SIGTERM: exit code $code after ${stop_ms} ms (expected 0 within 5000 ms); last logs:"
  podman logs "$container" 2>&1 | tail -n 20
fi

# 10. The SQLite file is on the volume, owned by the container's user (data survives the container).
if [ -s "$data/secureflow.db" ] && [ "$(stat -c %u "$data/secureflow.db")" = 1000 ]; then
  pass "SQLite database written to the mounted volume as uid 1000"
else
  fail "no database on the volume: $(ls -ln "$data")"
fi

note "image size: $size bytes ($(( (size + 524288) / 1048576 )) MiB)"
summary
[ "$failed" -eq 0 ]
