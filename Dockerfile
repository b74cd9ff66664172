# One image, two processes (milestone 6). The API is the default command; the worker runs the
# same image with its own:
#   docker build -t auction-workbook .                        your code (exercises/)
#   docker build -t auction-workbook --build-arg TREE=solutions .   the reference
#   docker run auction-workbook                               bid-service (PORT 3000, API_PORT 8080)
#   docker run auction-workbook dist/bid-worker.js            bid-worker  (PORT 3000)
#   docker run auction-workbook dist/migrate.js expand        the rollout's migration steps (expand, then
#   docker run auction-workbook dist/migrate.js contract      contract once no old process is left)
#   docker build --target ingress -t auction-workbook-ingress .   Caddy with the live auction page (web/)
# Config comes from the environment only (shared/config.ts): DATABASE_URL, AMQP_URL, REDIS_URL…
# shared/tests/image.test.ts builds and starts every entry point named below.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY proto ./proto
COPY shared ./shared
COPY exercises ./exercises
COPY solutions ./solutions
COPY scripts/build.ts scripts/with-node.mjs scripts/node-version.mjs ./scripts/
ARG TREE=exercises
RUN npm run build -- --tree "${TREE}" --out-dir dist

# The live auction page (web/), built with Vite into web/dist. Not part of the app image: the
# ingress serves it (compose builds the `ingress` target below).
FROM build AS web
COPY tsconfig.json ./
COPY web ./web
RUN npm run build:web

# The ingress with the page inside, at WEB_ROOT's default (deploy/ingress/Caddyfile, which
# compose mounts): docker build --target ingress -t auction-workbook-ingress .
FROM caddy:2 AS ingress
COPY --from=web /app/web/dist /srv/web

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Production dependencies only: the bundle imports its packages from here (the build checks
# that each is in "dependencies").
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/ holds the bundles and the .proto contracts they load at run time (dist/proto/).
COPY --from=build /app/dist ./dist
# A container listens on every interface: the kubelet and the ingress reach it from outside.
ENV HTTP_HOST=0.0.0.0
# Stack traces point at the TypeScript files (dist/*.js.map).
ENV NODE_OPTIONS=--enable-source-maps
LABEL org.auction-workbook.entrypoints="dist/bid-service.js dist/bid-worker.js"
EXPOSE 3000 8080
# The files above belong to root and stay read-only for the process.
USER node
# Docker and compose only (Kubernetes uses the probes in deploy/k8s): both processes answer
# /healthz on PORT. No curl in the slim image, so node asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/bid-service.js"]
