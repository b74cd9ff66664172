#!/usr/bin/env bash
# npm run test:containers: the milestone tests against solutions/ with PostgreSQL, RabbitMQ
# and Redis from Testcontainers, never from the services on this machine. With a Docker
# engine (or DOCKER_HOST set) it uses that as it is, with the official images; where none
# answers, it brings up the podman path first (podman.sh up: installs, builds and starts the
# first time, then takes about a second). Its last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# The sockets Testcontainers looks for by itself when DOCKER_HOST is not set.
docker_socket() {
  local s
  for s in /var/run/docker.sock "${XDG_RUNTIME_DIR:-/nonexistent}/docker.sock" "$HOME/.docker/run/docker.sock" "$HOME/.docker/desktop/docker.sock"; do
    [ -S "$s" ] && return 0
  done
  return 1
}

if [ -z "${DOCKER_HOST:-}" ] && ! docker_socket; then
  echo "[containers] no Docker engine here: using podman's Docker API (bash scripts/containers/podman.sh up)" >&2
  bash scripts/containers/podman.sh up
  eval "$(bash scripts/containers/podman.sh env)"
fi
export WORKBOOK_INFRA=testcontainers
exec node_modules/.bin/tsx workbook/cli.ts containers "$@"
