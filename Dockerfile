# syntax=docker/dockerfile:1
# Build stage: compiles TypeScript and the native SQLite module.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` builds when sources are there; they are copied after the install, so it skips here.
COPY scripts ./scripts
RUN npm ci
COPY tsconfig.json tsconfig.build.json app.yml ./
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: no compilers, a non-root user, git for the workspaces.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini bubblewrap ripgrep \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    AUTOCODER_DATA_DIR=/data \
    PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/app.yml ./app.yml
COPY --from=build /app/scripts ./scripts
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--"]
# The web process (webhooks, REST API, dashboard): npm start. A Redis worker: docker run IMAGE node bin/autocoder.js worker
CMD ["npm", "start"]
