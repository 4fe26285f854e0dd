#!/usr/bin/env bash
# `make setup`: everything ScadaPRO needs on this machine, idempotent (a second run takes seconds).
#   1. .venv with the pinned Python packages (reinstalled only when a requirements file changes)
#   2. .env with generated secrets (an existing .env is kept; missing values are added)
#   3. PostgreSQL + TimescaleDB, Redis, Mosquitto: installed (root on Debian) and started when local
#   4. browser libraries from npm (package-lock.json) and, for the end-to-end tests, Chromium
#   5. the database, migrations, static files
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# --- 1. Python virtualenv ---------------------------------------------------------------------
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' \
  || die "Python 3.11 or newer is required ($PYTHON is $("$PYTHON" -V 2>&1)); install python3.11 or set PYTHON=/path/to/python3.11."
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PYTHON" -V)"
  "$PYTHON" -m venv .venv || die "could not create .venv; on Debian install python3-venv."
fi
stamp=".venv/.requirements.sha256"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages (requirements-dev.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c 'import django, channels, celery, psycopg, paho.mqtt' \
    || die "the Python packages did not install; see the pip output above."
  echo "$want" >"$stamp"
fi

# --- 2. .env ----------------------------------------------------------------------------------
.venv/bin/python scripts/write_env.py .env

# Every later step reads the same settings the processes will.
set -a; . ./.env; set +a
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/scadapro}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
MQTT_URL="${MQTT_URL:-mqtt://127.0.0.1:1883}"

# --- 3. Services ------------------------------------------------------------------------------
hostport() { .venv/bin/python - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or int(sys.argv[2]))
PY
}
is_local() { case "$1" in 127.*|localhost|::1) return 0;; *) return 1;; esac; }
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
as_root_on_debian() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  as_root_on_debian || return 1
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() {  # name host port
  for _ in $(seq 1 30); do reachable "$2" "$3" && return 0; sleep 1; done
  return 1
}

read -r PG_HOST PG_PORT <<<"$(hostport "$DATABASE_URL" 5432)"
read -r REDIS_HOST REDIS_PORT <<<"$(hostport "$REDIS_URL" 6379)"
read -r MQTT_HOST MQTT_PORT <<<"$(hostport "$MQTT_URL" 1883)"

if is_local "$PG_HOST"; then
  if [ ! -d /usr/lib/postgresql/15 ]; then
    say "installing PostgreSQL 15"
    apt_install postgresql-15 postgresql-client-15 \
      || die "PostgreSQL 15 is not installed: install it (apt-get install postgresql-15) or point DATABASE_URL at a server with TimescaleDB."
  fi
  bash scripts/setup-timescaledb.sh
  if ! reachable "$PG_HOST" "$PG_PORT"; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || true
    wait_for postgresql "$PG_HOST" "$PG_PORT" \
      || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT; start it (pg_ctlcluster 15 main start) and run make setup again."
  fi
else
  reachable "$PG_HOST" "$PG_PORT" || die "PostgreSQL at $PG_HOST:$PG_PORT (DATABASE_URL) does not answer."
fi

if is_local "$REDIS_HOST" && ! reachable "$REDIS_HOST" "$REDIS_PORT"; then
  command -v redis-server >/dev/null || apt_install redis-server \
    || die "Redis is not installed: install it (apt-get install redis-server) or point REDIS_URL at one."
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/scadapro.log >/dev/null
  wait_for redis "$REDIS_HOST" "$REDIS_PORT" || die "Redis did not start on $REDIS_HOST:$REDIS_PORT."
fi
reachable "$REDIS_HOST" "$REDIS_PORT" || die "Redis at $REDIS_HOST:$REDIS_PORT (REDIS_URL) does not answer."

if is_local "$MQTT_HOST"; then
  command -v mosquitto_pub >/dev/null || apt_install mosquitto-clients || true
  if ! reachable "$MQTT_HOST" "$MQTT_PORT"; then
    command -v mosquitto >/dev/null || apt_install mosquitto \
      || die "Mosquitto is not installed: install it (apt-get install mosquitto) or point MQTT_URL at a broker."
    say "starting Mosquitto"
    install -d -o mosquitto /run/mosquitto /var/log/mosquitto 2>/dev/null || true
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
    wait_for mosquitto "$MQTT_HOST" "$MQTT_PORT" || die "Mosquitto did not start on $MQTT_HOST:$MQTT_PORT."
  fi
fi
reachable "$MQTT_HOST" "$MQTT_PORT" || die "the MQTT broker at $MQTT_HOST:$MQTT_PORT (MQTT_URL) does not answer."

# --- 4. Browser libraries and the browser the end-to-end tests drive -----------------------------
if ! command -v npm >/dev/null 2>&1; then
  say "installing npm"
  apt_install npm || die "npm is not installed: install Node.js 18 or newer with npm (apt-get install npm)."
fi
npm_stamp="node_modules/.package-lock.sha256"
npm_want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
  say "installing browser libraries (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed; see the npm output above."
  echo "$npm_want" >"$npm_stamp"
fi
if [ ! -x /usr/bin/chromium ]; then
  say "installing Chromium for the end-to-end tests"
  apt_install chromium chromium-driver \
    || say "Chromium is not installed (apt-get install chromium): the end-to-end tests will be skipped."
fi

# --- 5. Database, migrations, static files ----------------------------------------------------
.venv/bin/python scripts/create_database.py
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
mkdir -p .state
say "ready ($ROOT)"
