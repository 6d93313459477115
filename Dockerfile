# secureflow: the scoring daemon (`secureflow serve`) in a container. See docs/container.md.
#
# On Fly.io and in CI with a registry, the official Node 22 LTS image is used for both stages. Where no registry is
# reachable, scripts/build-base-image.sh makes local stand-ins and the build passes them in:
#   podman build --format docker \
#     --build-arg BUILD_IMAGE=localhost/secureflow-node22-build \
#     --build-arg BASE_IMAGE=localhost/secureflow-node22-base -t secureflow .
ARG BASE_IMAGE=node:22-bookworm-slim
ARG BUILD_IMAGE=node:22-bookworm-slim

# ---- build: install every dependency, compile the native addon, bundle, then drop the dev dependencies ----
FROM ${BUILD_IMAGE} AS build
WORKDIR /app

# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded: make sure a toolchain is there
# (the local build image has one; the official slim image does not).
RUN if ! command -v g++ >/dev/null || ! command -v make >/dev/null || ! command -v python3 >/dev/null; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi

# Only for builds behind a TLS-intercepting proxy: a CA bundle mounted into the build (podman build -v), used by
# npm and by better-sqlite3's download attempt. Empty (the default) means Node's own CAs. Build-stage only.
ARG NODE_EXTRA_CA_CERTS=""

# The lockfile first, so the dependency layers are reused while only the sources change.
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency's install script runs unasked (postject's, say); the two that matter run next.
RUN npm ci --ignore-scripts --no-audit --no-fund
# better-sqlite3's install script downloads a prebuilt addon or falls back to node-gyp. node-gyp builds against
# the image's own headers (/usr/local/include/node, in the official image and the local build image) instead of
# downloading them. esbuild's install script only checks its platform binary.
RUN if [ -f /usr/local/include/node/node.h ]; then export npm_config_nodedir=/usr/local; fi \
    && npm rebuild better-sqlite3 esbuild \
    && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
RUN npm run build

# Production dependencies only; then the native addon's sources and object files, which the runtime never reads.
# (better-sqlite3 loads build/Release/better_sqlite3.node and nothing else of its build tree.)
RUN npm prune --omit=dev --no-audit --no-fund \
    && cd node_modules/better-sqlite3 \
    && mv build/Release/better_sqlite3.node /tmp/ \
    && rm -rf build deps src \
    && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/ \
    && cd /app && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

# ---- runtime: production dependencies + dist + bin + package.json, as a non-root user ----
FROM ${BASE_IMAGE} AS runtime
WORKDIR /app

# HOST=0.0.0.0: the daemon's default (127.0.0.1) is unreachable from outside a container. With no DATABASE_URL or
# SECUREFLOW_DB, the SQLite file goes to $XDG_DATA_HOME/secureflow/secureflow.db, i.e. under /data (mount a volume).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=5001 \
    XDG_DATA_HOME=/data

# The official images have user node (uid 1000); create it on a base that lacks it. /data is its only writable place.
RUN if ! id -u node >/dev/null 2>&1; then \
      groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home --shell /bin/sh node; \
    fi \
    && mkdir -p /data && chown node:node /data

# The application files stay owned by root: the process can read them, not change them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin

USER node
EXPOSE 5001

# No curl in slim images: Node's fetch asks the daemon itself. (Fly ignores this and uses fly.toml's checks.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||5001)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# The daemon finishes in-flight requests and exits 0 on SIGTERM (what `podman stop`, `docker stop` and Fly send).
STOPSIGNAL SIGTERM
CMD ["node", "bin/secureflow", "serve"]
