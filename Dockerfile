# One image for every part of the platform; docker-compose picks the part with `command`.
# Build: docker build -t mytho-platform .
# Node 24, the active LTS (Node 20 reached its end of life on 30 April 2026); engines stays >=20.19 for development.
# The image holds compiled JavaScript and what it reads at run time, nothing else (issue #19): the services' bundles
# (npm run build:server, deploy/build-server.ts), the built map, the seed fleet and the production node_modules.
# No TypeScript source, test, bench, packages/testing or tsx; deploy/server-build.test.ts reads this file to hold that.

# The manifests and the compiler for native modules, shared by the two stages that install.
FROM node:24-bookworm-slim AS manifests
WORKDIR /app
# better-sqlite3 compiles against Node's headers when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/schema/package.json packages/schema/
COPY packages/runtime/package.json packages/runtime/
COPY packages/storage/package.json packages/storage/
COPY packages/alerts/package.json packages/alerts/
COPY packages/directory/package.json packages/directory/
COPY packages/testing/package.json packages/testing/
COPY broker/package.json broker/
COPY ingest/package.json ingest/
COPY api/package.json api/
COPY web/package.json web/
COPY devices-sim/package.json devices-sim/
COPY platform/package.json platform/

# Everything, to build the map (Vite) and the services (esbuild); nothing of this stage but its output goes on.
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:web && npm run build:server

# The production dependencies alone, compiled for this Node, as npm lays them out (a workspace's own node_modules
# included: the bundles resolve from their workspace's folder). Our workspaces are bundled into the services, so
# their links go, and the test helpers' manifest with them.
FROM manifests AS runtime-deps
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf node_modules/@mytho packages/testing

FROM node:24-bookworm-slim
# MALLOC_ARENA_MAX=2: the broker's (and the API's) scrypt runs on libuv's threadpool, and glibc gives each thread its
# own arena that keeps the freed 16 MiB scrypt buffers: ~70 MiB of RSS that serves nothing (BENCHMARKS.md, #8).
# MALLOC_MMAP_THRESHOLD_ fixed at 1 MiB: glibc otherwise raises it to 16 MiB after the first scrypt buffer is freed,
# and the next ones stay in the arenas; mmapped, each goes back to the OS when freed (the idle broker: ~20-30 MiB).
ENV NODE_ENV=production DATA_DIR=/data MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576
WORKDIR /app
# Manifests (each workspace's "type": "module" makes its dist/*.js ES modules) and node_modules.
COPY --from=runtime-deps /app ./
COPY --from=build /app/broker/dist broker/dist
COPY --from=build /app/ingest/dist ingest/dist
COPY --from=build /app/api/dist api/dist
COPY --from=build /app/devices-sim/dist devices-sim/dist
COPY --from=build /app/platform/dist platform/dist
COPY --from=build /app/web/dist web/dist
# Read beside its source at run time (the default DEVICE_REGISTRY_FILE; import.meta.url in deploy/build-server.ts).
COPY --from=build /app/packages/schema/data packages/schema/data
# The NGSI-LD @context and Smart Data Model schemas the sharing interface serves (packages/schema/src/ngsi-ld-files.ts).
COPY --from=build /app/packages/schema/ngsi-ld packages/schema/ngsi-ld
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# Default: the API and map; compose overrides per service. --enable-source-maps: stack traces name the TypeScript
# file and line (the maps hold no source text); it costs only when a stack is read.
CMD ["node", "--enable-source-maps", "api/dist/main.js"]
