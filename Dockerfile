# syntax=docker/dockerfile:1
# The hip-pain triage service (and its `hip-triage` command line) on Node 24 LTS.
# Built and run by docker-compose.yml; no Docker engine exists on the development machines,
# so test/deploy/compose.test.ts checks what can be checked without one.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
COPY questionnaires ./questionnaires
COPY fhir-resources ./fhir-resources
COPY config ./config
# The build also writes the slimmed FHIR definitions (dist/definitions) that make start-up fast.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY public ./public
COPY questionnaires ./questionnaires
COPY fhir-resources ./fhir-resources
COPY config ./config
# The embedded store's journal holds health records: owned by the unprivileged user, kept on a volume.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# HOST=0.0.0.0 is not loopback: the service refuses to start unless AUTH_* is set or ALLOW_INSECURE=true.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js"]
