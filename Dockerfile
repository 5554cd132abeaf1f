# pipemon's receiver as an image, for docker-compose.yml (and any container platform).
#
#   docker build -t pipemon .
#   docker run -e DATABASE_URL=postgres://user:password@host:5432/pipemon -p 4318:4318 -p 4317:4317 pipemon
#
# It needs DATABASE_URL: the image leaves out the embedded PostgreSQL server (npm's optional
# @embedded-postgres/* binaries, 60 MB) that `pipemon serve` runs without it.
# test/docker-compose.native.test.ts runs this file's runtime stage natively (its npm install line, then CMD and
# HEALTHCHECK) and checks it against docker-compose.yml.

# The Node.js the tests run on (test/Dockerfile.test.ts checks the major version); pinned, so that a
# rebuild gets the same runtime.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` script compiles, and the sources are not here yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, without the optional embedded PostgreSQL binaries (see above), and
# without install scripts (`prepare` would compile with the TypeScript compiler, a dev dependency).
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Where the first start on an empty database saves the default API key (a volume in the stack).
RUN mkdir -p /var/lib/pipemon && chown node:node /var/lib/pipemon
# The official image's unprivileged user (uid 1000).
USER node
# 4318: OTLP/HTTP ingest and the query API; 4317: OTLP/gRPC ingest; 9464: /metrics, on a listener of
# its own, for Prometheus only (it needs no key and names every tenant and pipeline, so it stays off
# the ingest ports).
EXPOSE 4317 4318 9464
# The slim image has no curl: Node's fetch. /readyz answers 200 once migrations ran and the
# database answers, 503 while it does not.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:4318/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Listens beyond loopback (the container's own network namespace); pipemon stops on SIGTERM after
# every accepted request has committed.
CMD ["node", "dist/bin/pipemon.js", "serve", "--host", "0.0.0.0", "--port", "4318", "--grpc-port", "4317", "--metrics-host", "0.0.0.0", "--metrics-port", "9464", "--data-dir", "/var/lib/pipemon"]
