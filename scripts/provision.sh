#!/usr/bin/env bash
# Provisions what Parcours's tests need on a machine of this kind (Debian 12, PostgreSQL
# 15 and Redis from Debian's packages): PostgreSQL and Redis running, and pgvector built
# into PostgreSQL. Idempotent and quiet when everything is already there; run as root.
#
# pgvector is not packaged for PostgreSQL 15 in Debian 12, so it is built from the source
# package of the next Debian release (trixie), reusing the mirror URI already configured.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config
PGHOST=${PGHOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

log() { echo "provision: $*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root to $1"; exit 1
  fi
}

start_postgres() {
  if pg_isready -q -h "$PGHOST" -p 5432 2>/dev/null; then return; fi
  need_root "start PostgreSQL"
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main start
  for _ in $(seq 1 30); do
    pg_isready -q -h "$PGHOST" -p 5432 && return
    sleep 1
  done
  log "PostgreSQL did not become ready"; exit 1
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then return; fi
  need_root "start Redis"
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.5
  done
  log "Redis did not become ready"; exit 1
}

pgvector_installed() {
  [ -f "$($PG_CONFIG --sharedir 2>/dev/null)/extension/vector.control" ] ||
    [ -f "/usr/share/postgresql/${PG_MAJOR}/extension/vector.control" ]
}

install_pgvector() {
  if pgvector_installed; then return; fi
  need_root "build pgvector"
  log "building pgvector from Debian's trixie source package"
  local uri src=/etc/apt/sources.list.d/parcours-trixie-src.sources
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  if [ -z "$uri" ]; then log "no Debian mirror URI found in debian.sources"; exit 1; fi
  if [ ! -f "$src" ]; then
    printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$src"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "postgresql-server-dev-${PG_MAJOR}" build-essential dpkg-dev >/dev/null
  local work
  work=$(mktemp -d)
  (
    cd "$work"
    apt-get source -qq pgvector >/dev/null 2>&1
    cd pgvector-*/
    make -s PG_CONFIG="$PG_CONFIG" >/dev/null
    make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
  )
  rm -rf "$work"
  pgvector_installed || { log "pgvector build did not install vector.control"; exit 1; }
}

# Chromium drives the teacher page's end-to-end tests (api/teacher, through chromedp).
install_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  need_root "install chromium"
  log "installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
}

# The OpenAPI checks (redocly lint in make lint; the TypeScript client test in api/) use
# the versions pinned in tools/openapi/package-lock.json, installed from npm.
install_openapi_tools() {
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/tools/openapi"
  if [ -x "$dir/node_modules/.bin/redocly" ] && [ -x "$dir/node_modules/.bin/tsc" ]; then return; fi
  command -v npm >/dev/null || { log "npm is missing: apt-get install nodejs npm"; exit 1; }
  log "installing the OpenAPI tools (npm ci in tools/openapi)"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
}

# HAProxy fronts three `parcours serve` replicas in the stateless-replica test
# (cmd/parcours/replicas_test.go), which starts it itself on a loopback port: the
# package's own service is never started here.
install_haproxy() {
  if [ -x /usr/sbin/haproxy ]; then return; fi
  need_root "install haproxy"
  log "installing haproxy"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq haproxy >/dev/null
}

# PostgreSQL settings for the service's working set (issue 12): the package's defaults
# (shared_buffers 128MB) do not hold a 50,000-resource HNSW index (97 MB) with its table,
# nor the hot pupils' rows at académie scale, and its 1 GB max_wal_size checkpoints
# every few seconds during a bulk load. ALTER SYSTEM only for what differs; a restart only
# when a setting needs one (shared_buffers), so a second run changes nothing.
# PARCOURS_PG_TUNE=0 leaves the server's settings alone.
tune_postgres() {
  if [ "${PARCOURS_PG_TUNE:-1}" = 0 ]; then return; fi
  local kv name want cur ctx changed=0 restart=0
  for kv in shared_buffers=1GB effective_cache_size=8GB maintenance_work_mem=512MB work_mem=16MB \
            max_wal_size=8GB checkpoint_timeout=15min random_page_cost=1.1 effective_io_concurrency=200; do
    name=${kv%%=*}; want=${kv#*=}
    cur=$(psql -Atq -h "$PGHOST" -U postgres -d postgres -c "SHOW $name")
    [ "$cur" = "$want" ] && continue
    ctx=$(psql -Atq -h "$PGHOST" -U postgres -d postgres -c "SELECT context FROM pg_settings WHERE name = '$name'")
    log "PostgreSQL: $name = $want (was $cur)"
    psql -q -h "$PGHOST" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET $name = '$want'" >/dev/null
    changed=1
    [ "$ctx" = postmaster ] && restart=1
  done
  if [ "$restart" = 1 ]; then
    need_root "restart PostgreSQL for its new settings"
    log "restarting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main restart
    for _ in $(seq 1 30); do
      pg_isready -q -h "$PGHOST" -p 5432 && return
      sleep 1
    done
    log "PostgreSQL did not come back"; exit 1
  elif [ "$changed" = 1 ]; then
    psql -q -h "$PGHOST" -U postgres -d postgres -c "SELECT pg_reload_conf()" >/dev/null
  fi
}

check_vector() {
  PGOPTIONS="-c client_min_messages=warning" psql -q -h "$PGHOST" -U postgres -d test -v ON_ERROR_STOP=1 \
    -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null
}

start_postgres
tune_postgres
start_redis
install_pgvector
check_vector
install_chromium
install_openapi_tools
install_haproxy
