#!/usr/bin/env bash
# The Testcontainers path where no Docker engine runs (design §4). podman serves the Docker
# API on a unix socket, and PostgreSQL 15, RabbitMQ 3 and Redis 7 images are built here from
# Debian's packages, so the harness code that starts postgres:15 for a learner with Docker
# starts these instead. A learner with Docker needs none of this.
#
#   bash scripts/containers/podman.sh up      install, configure, build the images, start the API
#   bash scripts/containers/podman.sh build   install, configure, build the images (cached by recipe)
#   bash scripts/containers/podman.sh start   start podman's Docker API on unix:///run/podman/podman.sock
#   bash scripts/containers/podman.sh stop    remove the workbook's containers, stop the API
#   bash scripts/containers/podman.sh clean   stop, then remove the images and the build cache too
#   bash scripts/containers/podman.sh env     the environment for Testcontainers: eval "$(… env)"
#   bash scripts/containers/podman.sh status  what is installed, built and running
#   bash scripts/containers/podman.sh sources the apt sources the images get, and where their mirror comes from
#
# Needs root and Debian's packages (Debian 12 has podman 4.3). Every step is idempotent and
# says what it does on stderr; stdout carries only what `env` prints.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECIPES="$HERE/images"
# Where the API's socket, PID file and log live. WORKBOOK_PODMAN_RUN_DIR moves them, for the
# test of `stop` (scripts/containers/podman-service.test.ts); testkit/containers.ts looks for the
# socket in the default place.
RUN_DIR=${WORKBOOK_PODMAN_RUN_DIR:-/run/podman}
SOCKET=$RUN_DIR/podman.sock
PIDFILE=$RUN_DIR/workbook-service.pid
SERVICE_LOG=$RUN_DIR/workbook-service.log
CACHE=/var/cache/workbook-containers
CONF=/etc/containers/containers.conf.d/50-workbook.conf
SUITE=bookworm
BASE_IMAGE=localhost/workbook-debian:$SUITE
SERVICES=(postgres rabbitmq redis)
# The harness takes these names from WORKBOOK_*_IMAGE (runtime/config.ts); `env` prints them.
declare -A IMAGE=(
  [postgres]=localhost/workbook-postgres:15
  [rabbitmq]=localhost/workbook-rabbitmq:3-management
  [redis]=localhost/workbook-redis:7
)
declare -A VARIABLE=([postgres]=WORKBOOK_POSTGRES_IMAGE [rabbitmq]=WORKBOOK_RABBITMQ_IMAGE [redis]=WORKBOOK_REDIS_IMAGE)

say() { printf '[containers] %s\n' "$*" >&2; }
fail() {
  printf '[containers] %s\n' "$1" >&2
  if [ -n "${2:-}" ]; then printf '[containers] Next: %s\n' "$2" >&2; fi
  exit 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- the Debian mirror ------------------------------------------------------------------
#
# The images fetch Debian's packages from the mirror this machine's own apt uses: a machine that
# reaches Debian only through a local mirror, a proxy or a cache (apt-cacher-ng) builds them
# the same way, and a machine with a working apt needs nothing more. deb.debian.org when the
# machine names no Debian mirror (no apt sources, or only another distribution's: Ubuntu's
# archive has no bookworm). WORKBOOK_DEBIAN_MIRROR and WORKBOOK_DEBIAN_SECURITY_MIRROR, when
# set, still win.

DEFAULT_MIRROR=http://deb.debian.org/debian
# A Debian suite, the images' or another release's: any Debian mirror serves bookworm too.
DEBIAN_SUITES='^(bookworm|trixie|forky|duke|bullseye|buster|sid|stable|testing|unstable|oldstable|oldoldstable)(-updates|-backports|-security|-proposed-updates|/updates)?$'

# apt's own source files, where apt looks for them (apt-config: Dir::Etc, APT_CONFIG), in the
# order apt reads them: sources.list, then sources.list.d's *.list and *.sources by name.
apt_source_files() {
  local L='' P=''
  if command -v apt-config >/dev/null; then eval "$(apt-config shell L Dir::Etc::sourcelist/f P Dir::Etc::sourceparts/d 2>/dev/null)" || true; fi
  local list=${L:-/etc/apt/sources.list} parts=${P:-/etc/apt/sources.list.d/} f
  if [ -f "$list" ]; then printf '%s\n' "$list"; fi
  for f in "${parts%/}"/*; do
    case "$f" in *.list | *.sources) if [ -f "$f" ]; then printf '%s\n' "$f"; fi ;; esac
  done
}

# "URI SUITE" for every binary (deb, not deb-src) source that is enabled, from both of apt's
# formats: one-line (`deb [options] URI SUITE COMPONENT…`) and deb822 (`Types:`, `URIs:`,
# `Suites:`, `Enabled:` in paragraphs; indented lines continue a field, like Signed-By's key).
apt_entries() {
  local f
  while IFS= read -r f; do
    case "$f" in
      *.sources)
        awk '
          function flush(  n, m, i, j, u, s) {
            if ((" " types " ") ~ / deb / && enabled !~ /^(no|false|0)$/) {
              n = split(uris, u, " "); m = split(suites, s, " ")
              for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
            }
            types = uris = suites = enabled = ""
          }
          /^[ \t]*#/ { next }
          /^[ \t]*$/ { flush(); next }
          /^[ \t]/ { next }
          {
            key = tolower($0); sub(/:.*/, "", key)
            value = $0; sub(/^[^:]*:[ \t]*/, "", value); gsub(/[ \t]+/, " ", value)
            if (key == "types") types = value
            else if (key == "uris") uris = value
            else if (key == "suites") suites = value
            else if (key == "enabled") enabled = tolower(value)
          }
          END { flush() }' "$f"
        ;;
      *)
        awk '
          { sub(/#.*/, "") }
          $1 != "deb" { next }
          {
            line = $0; sub(/^[ \t]*deb[ \t]+/, "", line); sub(/^\[[^]]*\][ \t]*/, "", line)
            n = split(line, w, /[ \t]+/)
            if (n >= 2) print w[1], w[2]
          }' "$f"
        ;;
    esac
  done < <(apt_source_files)
}

# Two lines: the first Debian mirror of this machine's sources, then its first security mirror
# (a -security suite); either empty when there is none. Only http and https: debootstrap and a
# container's apt cannot use file:, cdrom: or mirror+file: sources of the host.
machine_mirrors() {
  apt_entries | awk -v suites="$DEBIAN_SUITES" '
    $1 !~ /^https?:\/\// || $2 !~ suites { next }
    { uri = $1; sub(/\/+$/, "", uri) }
    $2 ~ /-security$|\/updates$/ { if (security == "") security = uri; next }
    main == "" { main = uri }
    END { print main; print security }'
}

MIRROR='' SECURITY_MIRROR='' MIRROR_FROM='' SECURITY_MIRROR_FROM=''
resolve_mirrors() {
  local found main security
  found=$(machine_mirrors 2>/dev/null || true)
  main=$(sed -n 1p <<<"$found")
  security=$(sed -n 2p <<<"$found")
  if [ -n "${WORKBOOK_DEBIAN_MIRROR:-}" ]; then
    MIRROR=${WORKBOOK_DEBIAN_MIRROR%/} MIRROR_FROM=WORKBOOK_DEBIAN_MIRROR
  elif [ -n "$main" ]; then
    MIRROR=$main MIRROR_FROM="this machine's apt sources"
  else
    MIRROR=$DEFAULT_MIRROR MIRROR_FROM="the default: this machine's apt sources name no Debian mirror"
  fi
  if [ -n "${WORKBOOK_DEBIAN_SECURITY_MIRROR:-}" ]; then
    SECURITY_MIRROR=${WORKBOOK_DEBIAN_SECURITY_MIRROR%/} SECURITY_MIRROR_FROM=WORKBOOK_DEBIAN_SECURITY_MIRROR
  elif [ -n "$security" ] && [ -z "${WORKBOOK_DEBIAN_MIRROR:-}" ]; then
    SECURITY_MIRROR=$security SECURITY_MIRROR_FROM="this machine's apt sources"
  elif [ "${MIRROR%/debian}" != "$MIRROR" ]; then
    # Debian's own layout: debian-security beside debian on the same host.
    SECURITY_MIRROR=${MIRROR%/debian}/debian-security SECURITY_MIRROR_FROM="beside the mirror"
  else
    SECURITY_MIRROR=http://deb.debian.org/debian-security SECURITY_MIRROR_FROM="the default"
  fi
}
resolve_mirrors

# The base image's /etc/apt/sources.list: the recipe with the mirrors filled in.
render_sources() { sed -e "s|@MIRROR@|$MIRROR|g" -e "s|@SECURITY_MIRROR@|$SECURITY_MIRROR|g" "$RECIPES/base/sources.list"; }

# --- where this may run -----------------------------------------------------------------

require_root() {
  [ "$(id -u)" = 0 ] || fail "this installs packages and configures podman for the whole machine, so it needs root." "sudo bash scripts/containers/podman.sh ${COMMAND}"
}

require_debian() {
  command -v apt-get >/dev/null || fail "this builds its images from Debian's packages and needs apt-get (Debian 12 or a derivative). Elsewhere, use Docker: the Testcontainers path then needs nothing from this script." "install Docker, then npm run test:containers"
}

# Prints the engine's name ("Podman Engine", "Engine" for Docker, …) when one answers the
# Docker API at $1 (unix:///path or tcp://host:port); fails otherwise.
engine_at() {
  command -v node >/dev/null || return 1
  node -e '
    const http = require("node:http");
    const u = new URL(process.argv[1]);
    const at = u.protocol === "unix:" ? { socketPath: u.pathname } : { host: u.hostname, port: Number(u.port || 2375) };
    const req = http.get({ ...at, path: "/version", timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        try { const v = JSON.parse(body); console.log(v.Components?.[0]?.Name ?? v.Platform?.Name ?? "Docker Engine"); }
        catch { process.exit(1); }
      });
    });
    req.on("error", () => process.exit(1));
    req.on("timeout", () => { req.destroy(); process.exit(1); });
  ' "$1" 2>/dev/null
}

# This path is for machines without Docker: where a Docker engine answers, Testcontainers
# uses it with the official images and building anything here would only hide that.
refuse_if_docker() {
  local endpoint name
  for endpoint in ${DOCKER_HOST:-} unix:///var/run/docker.sock; do
    [ "$endpoint" = "unix://$SOCKET" ] && continue
    if name=$(engine_at "$endpoint") && [ "$name" != "Podman Engine" ]; then
      fail "a Docker engine ($name) answers at $endpoint: Testcontainers uses it as it is, with the official images, and needs nothing from this script." "npm run test:containers"
    fi
  done
}

# --- install and configure --------------------------------------------------------------

install_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v runc >/dev/null || missing+=(runc)
  if [ ${#missing[@]} -eq 0 ]; then
    say "installed: $(podman --version), debootstrap, runc"
    return
  fi
  local started
  started=$(now)
  say "installing ${missing[*]} from Debian's packages (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || fail "apt-get update failed: Debian's package mirror is not reachable." "check the network, then run this again"
  apt-get install -y -qq podman debootstrap runc >"$CACHE/apt.log" 2>&1 \
    || fail "apt-get install podman debootstrap runc failed; the end of $CACHE/apt.log:
$(tail -n 15 "$CACHE/apt.log")" "fix what it says, then run this again"
  say "installed $(podman --version), debootstrap and runc in $(since "$started") s"
}

# A drop-in rather than /etc/containers/containers.conf itself, so a machine's own settings
# stay as they are; podman reads containers.conf.d after the main file.
CONF_TEXT='# Written by scripts/containers/podman.sh for the auction workbook'"'"'s Testcontainers path.
[containers]
# The defaults fail here with "error setting rlimit type 6/7: operation not permitted".
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
# crun fails on this machine'"'"'s cgroup setup; runc works, with cgroupfs (no systemd here).
runtime = "runc"
cgroup_manager = "cgroupfs"
# No journald to send container events to.
events_logger = "file"'

CONF_CHANGED=0
configure() {
  if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$CONF_TEXT" ]; then
    say "configured: runc, cgroupfs, file events, ulimits ($CONF)"
    return
  fi
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$CONF_TEXT" >"$CONF"
  CONF_CHANGED=1
  say "configured podman: runc, cgroupfs, file events, ulimits nofile=20000 nproc=4096 ($CONF)"
}

# --- images -----------------------------------------------------------------------------

# A recipe's hash covers everything that makes the image: the files of its folder, the base
# image's recipe, and for the base the function that builds it. An image whose label carries
# the same hash is up to date, so a rerun with nothing changed only reads labels.
recipe_files() {
  local f
  for f in "$RECIPES/$1"/*; do
    printf '%s\n' "${f##*/}"
    cat "$f"
  done
}
base_hash() { { echo "$SUITE $MIRROR $SECURITY_MIRROR"; declare -f build_base; recipe_files base; } | sha256sum | cut -c1-16; }
image_hash() { { base_hash; recipe_files "$1"; } | sha256sum | cut -c1-16; }
recipe_of() { podman image inspect --format '{{ index .Labels "workbook.recipe" }}' "$1" 2>/dev/null || true; }

# Debian's minimal system (debootstrap --variant=minbase), imported as the base of the three.
build_base() {
  local rootfs="$CACHE/rootfs-$SUITE"
  rm -rf "$rootfs"
  mkdir -p "$CACHE/debs"
  # minbase has no CA certificates: an https mirror needs them, in the image's apt as in debootstrap.
  local include=()
  case "$MIRROR $SECURITY_MIRROR" in *https://*) include=(--include=ca-certificates) ;; esac
  debootstrap --variant=minbase "${include[@]}" --cache-dir="$CACHE/debs" "$SUITE" "$rootfs" "$MIRROR" >"$CACHE/base.log" 2>&1 \
    || fail "debootstrap $SUITE from $MIRROR failed; the end of $CACHE/base.log:
$(tail -n 15 "$CACHE/base.log")" "check that $MIRROR answers (or set WORKBOOK_DEBIAN_MIRROR), then run this again"
  render_sources >"$rootfs/etc/apt/sources.list"
  install -m 0755 "$RECIPES/base/policy-rc.d" "$rootfs/usr/sbin/policy-rc.d"
  install -m 0644 "$RECIPES/base/slim.cfg" "$rootfs/etc/dpkg/dpkg.cfg.d/workbook-slim"
  # podman provides resolv.conf and hosts to each container; apt lists are fetched per image.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs/etc/resolv.conf"
  tar -C "$rootfs" -c . | podman import --change "LABEL workbook.recipe=$1" --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >>"$CACHE/base.log" 2>&1 \
    || fail "podman import of the base image failed; the end of $CACHE/base.log:
$(tail -n 15 "$CACHE/base.log")" "bash scripts/containers/podman.sh status"
  rm -rf "$rootfs"
}

ensure_base() {
  local hash started
  hash=$(base_hash)
  if [ "$(recipe_of "$BASE_IMAGE")" = "$hash" ]; then
    say "up to date: $BASE_IMAGE (recipe $hash)"
    return
  fi
  started=$(now)
  say "building $BASE_IMAGE: debootstrap --variant=minbase $SUITE from $MIRROR ($MIRROR_FROM; log: $CACHE/base.log)"
  build_base "$hash"
  say "built $BASE_IMAGE in $(since "$started") s"
}

build_image() {
  local name=$1 image=${IMAGE[$1]} hash started
  hash=$(image_hash "$name")
  if [ "$(recipe_of "$image")" = "$hash" ]; then
    say "up to date: $image (recipe $hash)"
    return
  fi
  started=$(now)
  say "building $image from Debian's packages (recipe $hash; log: $CACHE/$name.log)"
  # The host's network for the build: apt reaches the mirror exactly as the host does, and
  # nothing started by mistake could take a port (policy-rc.d stops that anyway).
  podman build --network=host --pull=never --label "workbook.recipe=$hash" -t "$image" "$RECIPES/$name" >"$CACHE/$name.log" 2>&1 \
    || fail "building $image failed; the end of $CACHE/$name.log:
$(tail -n 15 "$CACHE/$name.log")" "fix the recipe in scripts/containers/images/$name, then bash scripts/containers/podman.sh build"
  say "built $image in $(since "$started") s"
  # Testcontainers would go on reusing a container of the previous image (its reuse hash
  # covers the image's name, not its content), so those go.
  local stale
  stale=$(podman ps -aq --filter "label=workbook.service=$name")
  if [ -n "$stale" ]; then
    say "removing the $name containers of the previous $image"
    # shellcheck disable=SC2086
    podman rm -f $stale >/dev/null
  fi
}

build_all() {
  local started name
  started=$(now)
  mkdir -p "$CACHE"
  ensure_base
  for name in "${SERVICES[@]}"; do build_image "$name"; done
  # Rebuilt images leave their predecessors untagged; they are never used again.
  podman image prune -f >/dev/null 2>&1 || true
  say "images ready in $(since "$started") s: ${IMAGE[postgres]}, ${IMAGE[rabbitmq]}, ${IMAGE[redis]}"
}

# --- the API service --------------------------------------------------------------------

service_answers() { [ -S "$SOCKET" ] && podman --url "unix://$SOCKET" version >/dev/null 2>&1; }

start_service() {
  if service_answers && [ "$CONF_CHANGED" = 0 ]; then
    say "podman's Docker API answers on unix://$SOCKET"
    return
  fi
  stop_service quietly
  mkdir -p "$(dirname "$SOCKET")"
  rm -f "$SOCKET"
  say "starting podman's Docker API on unix://$SOCKET (log: $SERVICE_LOG)"
  # --time=0: never exit for idleness; tests may start minutes after this.
  setsid nohup podman system service --time=0 "unix://$SOCKET" >"$SERVICE_LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local _
  for _ in $(seq 1 100); do
    if service_answers; then
      say "podman's Docker API answers on unix://$SOCKET (pid $(cat "$PIDFILE"))"
      return
    fi
    sleep 0.1
  done
  fail "podman's Docker API did not answer within 10 s; the end of $SERVICE_LOG:
$(tail -n 15 "$SERVICE_LOG")" "bash scripts/containers/podman.sh status"
}

# The API's PID from PIDFILE, only while that process is still the API started above. The file
# outlives the process when the machine's processes are stopped without a reboot (/run
# survives), and the number then belongs to whatever got it next: in CI, a process of the CI
# run itself, which `up` killed (the shell printed "Terminated" and CI failed with every test
# passed). The same lesson as reap_dead_containers below.
service_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "system service --time=0 unix://$SOCKET" || return 1
  echo "$pid"
}

stop_service() {
  local pid
  if pid=$(service_pid); then
    kill "$pid"
    [ "${1:-}" = quietly ] || say "stopped podman's Docker API (pid $pid)"
  elif [ -f "$PIDFILE" ] && [ "${1:-}" != quietly ]; then
    say "podman's Docker API was not running (its PID file named pid $(cat "$PIDFILE"), now another process or none: left alone)"
  fi
  rm -f "$PIDFILE"
}

# When the machine's processes are stopped under podman (a session ends, a sandbox is
# recycled) without a reboot, podman still lists the containers as running, Testcontainers
# reuses them, and nothing answers on their ports. Such containers are removed here, so the
# next run starts fresh ones.
# A PID that answers `kill -0` does not prove it: after such a stop, another process can hold
# the same number (it did in CI). The process is the container's only if its cgroup names the
# container's full id.
reap_dead_containers() {
  local id pid
  for id in $(podman ps -q --no-trunc --filter label=workbook.service 2>/dev/null); do
    pid=$(podman inspect --format '{{.State.Pid}}' "$id" 2>/dev/null || echo 0)
    if [ "$pid" = 0 ] || ! grep -qs "$id" "/proc/$pid/cgroup"; then
      say "removing $(podman inspect --format '{{.Name}} ({{.ImageName}})' "$id"): listed as running, but its process is gone"
      podman rm -f "$id" >/dev/null
    fi
  done
}

# Testcontainers reuses the workbook's containers between runs (.withReuse()); they carry the
# label workbook.service, which is how they are found here.
remove_containers() {
  local ids
  ids=$(podman ps -a -q --filter label=workbook.service 2>/dev/null || true)
  if [ -n "$ids" ]; then
    say "removing the workbook's containers: $(podman ps -a --filter label=workbook.service --format '{{.Names}} ({{.Image}})' | paste -sd ' ')"
    # shellcheck disable=SC2086
    podman rm -f $ids >/dev/null
  else
    say "no workbook containers to remove"
  fi
}

print_env() {
  echo "export DOCKER_HOST=unix://$SOCKET"
  # Ryuk (Testcontainers' reaper) is an image from Docker Hub, which cannot be pulled here;
  # the workbook's containers are reused, and removed with `podman.sh stop`.
  echo "export TESTCONTAINERS_RYUK_DISABLED=true"
  # Where a /.dockerenv says "inside a container", Testcontainers would reach the containers
  # through podman's bridge gateway (10.88.0.1); the mapped ports are on loopback too.
  echo "export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
  local name
  # An image named in the environment already stays: it was chosen on purpose.
  for name in "${SERVICES[@]}"; do echo "export ${VARIABLE[$name]}=${!VARIABLE[$name]:-${IMAGE[$name]}}"; done
}

status() {
  if command -v podman >/dev/null; then say "installed: $(podman --version)"; else say "podman is not installed (bash scripts/containers/podman.sh up installs it)"; fi
  if [ -f "$CONF" ]; then say "configured: $CONF"; else say "not configured: $CONF is missing"; fi
  say "Debian mirror: $MIRROR ($MIRROR_FROM); security: $SECURITY_MIRROR ($SECURITY_MIRROR_FROM)"
  if command -v podman >/dev/null && service_answers; then say "API: answers on unix://$SOCKET"; else say "API: not running (bash scripts/containers/podman.sh start)"; fi
  command -v podman >/dev/null || return 0
  local name image hash have
  for name in base "${SERVICES[@]}"; do
    if [ "$name" = base ]; then image=$BASE_IMAGE hash=$(base_hash); else image=${IMAGE[$name]} hash=$(image_hash "$name"); fi
    have=$(recipe_of "$image")
    if [ -z "$have" ]; then say "image $image: not built"
    elif [ "$have" = "$hash" ]; then say "image $image: up to date (recipe $hash)"
    else say "image $image: out of date (built from recipe $have, now $hash)"; fi
  done
  podman ps -a --filter label=workbook.service --format '[containers] container {{.Names}}: {{.Image}} {{.Status}} {{.Ports}}' >&2 || true
}

COMMAND=${1:-up}
case "$COMMAND" in
  up)
    refuse_if_docker; require_root; require_debian
    mkdir -p "$CACHE"
    install_packages; configure; build_all; start_service; reap_dead_containers
    say "ready. Testcontainers uses it with: eval \"\$(bash scripts/containers/podman.sh env)\""
    say "Next: npm run test:containers"
    ;;
  build)
    refuse_if_docker; require_root; require_debian
    mkdir -p "$CACHE"
    install_packages; configure; build_all
    ;;
  start)
    refuse_if_docker; require_root; require_debian
    mkdir -p "$CACHE"
    install_packages; configure; start_service; reap_dead_containers
    ;;
  stop)
    require_root
    if command -v podman >/dev/null; then remove_containers; fi
    stop_service
    rm -f "$SOCKET"
    ;;
  clean)
    require_root
    if command -v podman >/dev/null; then
      remove_containers
      stop_service
      podman rmi -f "${IMAGE[@]}" "$BASE_IMAGE" >/dev/null 2>&1 || true
      say "removed the images ${IMAGE[*]} $BASE_IMAGE"
    fi
    rm -rf "$CACHE"
    say "removed the build cache $CACHE"
    ;;
  env) print_env ;;
  sources)
    say "mirror $MIRROR ($MIRROR_FROM); security $SECURITY_MIRROR ($SECURITY_MIRROR_FROM)"
    render_sources
    ;;
  status) status ;;
  *) fail "unknown command \"$COMMAND\": up, build, start, stop, clean, env, status or sources." "bash scripts/containers/podman.sh up" ;;
esac
