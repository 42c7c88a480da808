# One image for every part of the platform; docker-compose picks the part with `command`.
# Build: docker build -t mytho-platform .
# Node 24, the active LTS (Node 20 reached its end of life on 30 April 2026); engines stays >=20.19 for development.
FROM node:24-bookworm-slim AS build
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
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:web
# Production dependencies only in the final image (tsx runs the TypeScript sources; it is a dependency).
RUN npm prune --omit=dev

FROM node:24-bookworm-slim
# MALLOC_ARENA_MAX=2: the broker's (and the API's) scrypt runs on libuv's threadpool, and glibc gives each thread its
# own arena that keeps the freed 16 MiB scrypt buffers: ~70 MiB of RSS that serves nothing (BENCHMARKS.md, #8).
# MALLOC_MMAP_THRESHOLD_ fixed at 1 MiB: glibc otherwise raises it to 16 MiB after the first scrypt buffer is freed,
# and the next ones stay in the arenas; mmapped, each goes back to the OS when freed (the idle broker: ~20-30 MiB).
ENV NODE_ENV=production DATA_DIR=/data MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# Default: the API and map; compose overrides per service.
CMD ["node", "--import", "tsx", "api/src/main.ts"]
