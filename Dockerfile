# syntax=docker/dockerfile:1
# rstmdb: RCP on 7401, HTTP gateway on 8080, data in the /var/lib/rstmdb volume.

# Build: dev dependencies, TypeScript compiled to dist/ and the console bundled (npm ci runs `prepare` = the build).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY protocol ./protocol
COPY storage ./storage
COPY src ./src
COPY routes ./routes
COPY console ./console
RUN npm ci --no-audit --no-fund

# Production dependencies only, installed apart so no dev package reaches the image.
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production \
    RSTMDB_DATA=/var/lib/rstmdb \
    RSTMDB_BIND=0.0.0.0:7401 \
    RSTMDB_HTTP_BIND=0.0.0.0:8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/protocol ./dist/protocol
COPY --from=build /app/dist/storage ./dist/storage
COPY --from=build /app/dist/routes ./dist/routes
COPY --from=build /app/dist/console ./dist/console
COPY package.json ./
COPY openapi ./openapi
RUN mkdir -p /var/lib/rstmdb && chown node:node /var/lib/rstmdb \
    && chmod +x dist/src/main.js dist/src/cli/main.js \
    && ln -s /app/dist/src/main.js /usr/local/bin/rstmdb \
    && ln -s /app/dist/src/cli/main.js /usr/local/bin/rstmdb-cli
# the official image's unprivileged user (uid 1000)
USER node
VOLUME ["/var/lib/rstmdb"]
EXPOSE 7401 8080
# the server drains subscriptions and fsyncs on SIGTERM (config.md §3, shutdown order)
STOPSIGNAL SIGTERM
# no curl in the slim image: node's fetch, on the port of RSTMDB_HTTP_BIND
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.RSTMDB_HTTP_BIND||'').split(':').pop()||'8080';fetch('http://127.0.0.1:'+p+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
