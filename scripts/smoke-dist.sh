#!/usr/bin/env bash
# Smoke tests of what users get, each run from an empty temporary directory by a user with an empty home:
#   1. the single executable (dist/secureflow-linux-x64), with Node's binary hidden where we are root;
#   2. the npm tarball from `npm pack` (which builds on prepack), installed with `npm install -g` into a prefix.
# Run by .ci/run after the tests; locally: bash scripts/smoke-dist.sh (about a minute: better-sqlite3 compiles).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exe="$root/dist/secureflow-linux-x64"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(node -p "require('$root/package.json').version")"

fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

# Runs "$@" in directory $1 as a fresh user: nothing of ours in the environment, an empty home.
as_user() {
  local dir="$1"; shift
  mkdir -p "$dir" "$dir.home"
  cp "$root/fixtures/transactions.csv" "$dir/"
  (cd "$dir" && env -i HOME="$dir.home" PATH="${SMOKE_PATH:-/usr/bin:/bin}" LANG=C.UTF-8 NO_COLOR=1 "$@")
}

# Checks one installed secureflow (the command is "$@"), run in a fresh directory named $1.
check() {
  local dir="$1"; shift
  [ "$(as_user "$dir" "$@" --version)" = "$version" ] || fail "$* --version"
  as_user "$dir" "$@" score transactions.csv > "$dir.out" 2> "$dir.err" || fail "$* score: $(cat "$dir.err")"
  [ "$(wc -l < "$dir.out")" -eq 11 ] || fail "$* score: expected 11 lines, got $(wc -l < "$dir.out")"
  grep -q 'stored 10 rows' "$dir.err" || fail "$* score did not store into the default SQLite database"
  local code=0
  as_user "$dir" "$@" score transactions.csv --no-store -q --format json --fail-on-anomaly > "$dir.json" 2>/dev/null || code=$?
  [ "$code" -eq 10 ] || fail "$* --fail-on-anomaly exited $code, not 10"
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (r.filter((x) => x.is_anomaly).length !== 4) process.exit(1)' "$dir.json" \
    || fail "$* --format json: expected 4 anomalies"
  as_user "$dir" "$@" transactions list --format json | grep -q '"total":10' || fail "$* transactions list"
}

# 1. The executable, as built by `npm test` (or built here if missing).
[ -x "$exe" ] || (cd "$root" && npm run package)
(cd "$(dirname "$exe")" && sha256sum --quiet -c "$(basename "$exe").sha256") || fail "the executable does not match its .sha256"
if [ "$(id -u)" = 0 ] && unshare --mount --propagation private true 2>/dev/null; then
  # A private mount namespace in which every Node binary within reach is /dev/null.
  mounts=""
  for n in $(for p in "$(command -v node)" /usr/local/bin/node /usr/bin/node /bin/node; do [ -e "$p" ] && readlink -f "$p"; done | sort -u); do
    mounts+="mount --bind /dev/null $n && "
  done
  run_exe=(unshare --mount --propagation private sh -c "${mounts}exec \"\$@\"" sh "$exe")
  hidden="Node hidden"
else
  run_exe=("$exe")
  hidden="Node on disk, not run"
fi
check "$work/exe" "${run_exe[@]}"
echo "smoke: executable OK ($hidden): $(du -m "$exe" | cut -f1) MiB, version $version, score/gate/json/list from an empty directory"

# 2. The npm tarball, installed globally into a temporary prefix.
(cd "$root" && npm pack --silent --pack-destination "$work" > "$work/pack.log" 2>&1) || { cat "$work/pack.log"; fail "npm pack"; }
tarball="$(ls "$work"/secureflow-*.tgz)"
npm install -g --prefix "$work/prefix" --allow-scripts=better-sqlite3 --no-audit --no-fund "$tarball" > "$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "npm install -g"; }
SMOKE_PATH="$work/prefix/bin:$(dirname "$(command -v node)"):/usr/bin:/bin" check "$work/npm" secureflow
echo "smoke: npm package OK: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB) installs with npm install -g and runs"
