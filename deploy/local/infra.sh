#!/usr/bin/env bash
# Local infrastructure for development, tests and the demo: PostgreSQL primary + streaming replica, Redis, NATS
# with JetStream. Debian packages are installed where missing; every server runs on ports of the project's own,
# with its data under the git-ignored .data/ folder, and only what this script started is ever stopped.
#
#   infra.sh up     [primary|replica|redis|nats]...   start (idempotent; survives stale pid files)
#   infra.sh down   [primary|replica|redis|nats]...   stop what this script started
#   infra.sh status                                   one line per server; exit 1 when any is down
#   infra.sh reset                                    down, then delete .data/ (all local data)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${UNSTUCK_DATA_DIR:-$ROOT/.data}"
# A .data link (see prepare_dirs) is followed once, so the postgres user is never asked to walk through it.
[ -L "$DATA" ] && DATA="$(readlink -f "$DATA")"
PG_PRIMARY_PORT="${PG_PRIMARY_PORT:-55432}"
PG_REPLICA_PORT="${PG_REPLICA_PORT:-55433}"
REDIS_PORT="${REDIS_PORT:-56379}"
NATS_PORT="${NATS_PORT:-54222}"
NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-58222}"
PG_DB="${PG_DATABASE:-unstuck}"
PG_USER="${PG_USER:-unstuck}"
PG_PASSWORD="${PG_PASSWORD:-unstuck}"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

# PostgreSQL refuses to run as root; when we are root it runs as the Debian package's postgres user.
if [ "$(id -u)" = 0 ]; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
  return 1
}

ensure_packages() {
  local missing=()
  pg_bindir >/dev/null || missing+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
  log "installing ${missing[*]} from Debian's packages"
  # The packages' own service units are not started: we run our own instances on our own ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Names whoever holds a port we need, and how to free it if it is another Unstuck checkout's server.
port_taken() {
  local port=$1 holder
  holder=$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1)
  die "port $port is taken by a process this script did not start${holder:+ ($holder)}; if it is another Unstuck checkout's server, run 'npm run infra:down' there, or set the port variables to free ones"
}

wait_port() {
  local port=$1 what=$2 i
  for i in $(seq 1 150); do port_open "$port" && return 0; sleep 0.2; done
  die "$what did not open port $port within 30 s (see $DATA/logs)"
}

# A pid file is trusted only while its process is alive and is the program we expect: after a crash the pid may
# have been reused by something else, which we must neither report as ours nor kill.
pid_alive() {
  local pidfile=$1 name=$2 pid
  [ -f "$pidfile" ] || return 1
  pid=$(head -n1 "$pidfile" 2>/dev/null | tr -dc '0-9')
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$name"
}

prepare_dirs() {
  # As root, PostgreSQL runs as the postgres user, which must reach the data folder through every parent folder
  # of the checkout. When it cannot (a clone under /root, say), the data lives under /var/lib/unstuck and .data
  # is a link to it, so every path the project uses stays the same.
  if [ "$(id -u)" = 0 ] && [ -z "${UNSTUCK_DATA_DIR:-}" ] && [ ! -e "$DATA" ] && ! runuser -u postgres -- test -x "$ROOT"; then
    local real="/var/lib/unstuck/$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
    mkdir -p "$real"
    ln -sfn "$real" "$DATA"
    log "postgres cannot reach $ROOT; keeping the data in $real (linked as .data)"
  fi
  DATA="$(readlink -f "$DATA" 2>/dev/null || echo "$DATA")"
  mkdir -p "$DATA/logs" "$DATA/run"
  if [ "$(id -u)" = 0 ]; then chown "$PG_OS_USER" "$DATA" "$DATA/logs" "$DATA/run"; fi
  as_pg test -w "$DATA" || die "user $PG_OS_USER cannot write $DATA; set UNSTUCK_DATA_DIR to a folder it can reach"
}

pg_running() { as_pg "$(pg_bindir)/pg_ctl" -D "$1" status >/dev/null 2>&1; }

start_primary() {
  local bin dir="$DATA/pg-primary"; bin=$(pg_bindir)
  if [ ! -s "$dir/PG_VERSION" ]; then
    log "initialising PostgreSQL primary in $dir"
    rm -rf "$dir"; mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$dir"
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$dir/postgresql.conf" <<EOF
# --- unstuck local primary ---
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY_PORT
unix_socket_directories = '$DATA/run'
max_connections = 200
shared_buffers = 256MB
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
log_min_duration_statement = 1000
timezone = 'UTC'
fsync = ${PG_FSYNC:-on}
EOF
    cat > "$dir/pg_hba.conf" <<EOF
local   all          all                  trust
host    all          all   127.0.0.1/32   scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
EOF
  fi
  if pg_running "$dir"; then log "postgres primary already running on $PG_PRIMARY_PORT"; else
    port_open "$PG_PRIMARY_PORT" && port_taken "$PG_PRIMARY_PORT"
    as_pg "$bin/pg_ctl" -D "$dir" -l "$DATA/logs/pg-primary.log" -w -t 60 start >/dev/null
    log "postgres primary started on $PG_PRIMARY_PORT"
  fi
  # Roles and database (idempotent).
  PGOPTIONS="-c client_min_messages=warning" as_pg "$bin/psql" -h "$DATA/run" -p "$PG_PRIMARY_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE "$PG_USER" LOGIN PASSWORD '$PG_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'replicator') THEN
    CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replicator';
  END IF;
END \$\$;
-- pg_monitor lets the services read replication lag and pg_stat_statements.
GRANT pg_monitor TO "$PG_USER";
SELECT 'CREATE DATABASE "$PG_DB" OWNER "$PG_USER"' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB')\gexec
EOF
  PGOPTIONS="-c client_min_messages=warning" as_pg "$bin/psql" -h "$DATA/run" -p "$PG_PRIMARY_PORT" -U postgres -d "$PG_DB" -q -c \
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
}

start_replica() {
  local bin dir="$DATA/pg-replica"; bin=$(pg_bindir)
  if [ ! -f "$dir/standby.signal" ]; then
    pg_running "$DATA/pg-primary" || die "the replica is made from the primary: start the primary first"
    log "cloning the streaming replica with pg_basebackup"
    rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"; [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$dir"
    as_pg env PGPASSWORD=replicator "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U replicator \
      -D "$dir" -R -X stream -c fast >/dev/null
    cat >> "$dir/postgresql.conf" <<EOF
# --- unstuck local replica (overrides the primary's settings copied above) ---
port = $PG_REPLICA_PORT
hot_standby = on
hot_standby_feedback = on
EOF
  fi
  if pg_running "$dir"; then log "postgres replica already running on $PG_REPLICA_PORT"; return; fi
  port_open "$PG_REPLICA_PORT" && port_taken "$PG_REPLICA_PORT"
  as_pg "$bin/pg_ctl" -D "$dir" -l "$DATA/logs/pg-replica.log" -w -t 60 start >/dev/null
  log "postgres replica started on $PG_REPLICA_PORT (streaming from $PG_PRIMARY_PORT)"
}

stop_pg() {
  local name=$1 dir="$DATA/pg-$1"
  [ -s "$dir/PG_VERSION" ] && pg_running "$dir" || { log "postgres $name not running"; return 0; }
  as_pg "$(pg_bindir)/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
  log "postgres $name stopped"
}

start_redis() {
  local pidfile="$DATA/run/redis.pid"
  if pid_alive "$pidfile" redis-server; then log "redis already running on $REDIS_PORT"; return; fi
  rm -f "$pidfile"
  port_open "$REDIS_PORT" && port_taken "$REDIS_PORT"
  mkdir -p "$DATA/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --pidfile "$pidfile" \
    --dir "$DATA/redis" --save "" --appendonly yes --logfile "$DATA/logs/redis.log" >/dev/null
  wait_port "$REDIS_PORT" redis
  log "redis started on $REDIS_PORT"
}

start_nats() {
  local pidfile="$DATA/run/nats.pid" bin; bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  if pid_alive "$pidfile" nats-server; then log "nats already running on $NATS_PORT"; return; fi
  rm -f "$pidfile"
  port_open "$NATS_PORT" && port_taken "$NATS_PORT"
  mkdir -p "$DATA/nats"
  setsid nohup "$bin" -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -js -sd "$DATA/nats" \
    -P "$pidfile" -l "$DATA/logs/nats.log" </dev/null >/dev/null 2>&1 &
  wait_port "$NATS_PORT" nats
  log "nats (JetStream) started on $NATS_PORT"
}

stop_pidfile() {
  local name=$1 pidfile=$2 prog=$3 pid i
  if ! pid_alive "$pidfile" "$prog"; then rm -f "$pidfile"; log "$name not running"; return 0; fi
  pid=$(head -n1 "$pidfile" | tr -dc '0-9')
  kill -TERM "$pid"
  for i in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  [ -d "/proc/$pid" ] && kill -KILL "$pid"
  rm -f "$pidfile"
  log "$name stopped"
}

status_line() {
  local name=$1 port=$2 up=$3
  if [ "$up" = 1 ]; then printf '%-8s up    127.0.0.1:%s\n' "$name" "$port"; else printf '%-8s down  127.0.0.1:%s\n' "$name" "$port"; fi
}

cmd_status() {
  local bad=0 bin; bin=$(pg_bindir 2>/dev/null || true)
  local p=0 r=0 rd=0 n=0
  [ -n "$bin" ] && [ -s "$DATA/pg-primary/PG_VERSION" ] && pg_running "$DATA/pg-primary" && p=1
  [ -n "$bin" ] && [ -s "$DATA/pg-replica/PG_VERSION" ] && pg_running "$DATA/pg-replica" && r=1
  pid_alive "$DATA/run/redis.pid" redis-server && rd=1
  pid_alive "$DATA/run/nats.pid" nats-server && n=1
  status_line primary "$PG_PRIMARY_PORT" $p; status_line replica "$PG_REPLICA_PORT" $r
  status_line redis "$REDIS_PORT" $rd; status_line nats "$NATS_PORT" $n
  for v in $p $r $rd $n; do [ "$v" = 1 ] || bad=1; done
  return $bad
}

components() { if [ $# -eq 0 ]; then echo primary replica redis nats; else echo "$@"; fi; }

action=${1:-}; shift || true
case "$action" in
  up)
    ensure_packages; prepare_dirs
    for c in $(components "$@"); do
      case "$c" in primary) start_primary ;; replica) start_replica ;; redis) start_redis ;; nats) start_nats ;;
        *) die "unknown component $c" ;; esac
    done ;;
  down)
    for c in $(components "$@" | tr ' ' '\n' | tac); do
      case "$c" in primary) stop_pg primary ;; replica) stop_pg replica ;;
        redis) stop_pidfile redis "$DATA/run/redis.pid" redis-server ;;
        nats) stop_pidfile nats "$DATA/run/nats.pid" nats-server ;;
        *) die "unknown component $c" ;; esac
    done ;;
  status) cmd_status ;;
  reset) "$0" down; target="$(readlink -f "$DATA" 2>/dev/null || echo "$DATA")"; rm -rf "$target" "$DATA"; log "removed $target" ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
