#!/usr/bin/env bash
# Build and preload the Apache-2 edition of TimescaleDB for the local PostgreSQL 15, from the
# Debian (trixie) source package, when it is not installed yet. See shared/TIMESCALEDB.md.
# Idempotent: does nothing when timescaledb.so is present and preloaded.
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
CONF_D="/etc/postgresql/${PG_MAJOR}/main/conf.d"
PRELOAD_CONF="${CONF_D}/50-timescaledb.conf"

die() { echo "setup-timescaledb: $*" >&2; exit 1; }

restart_needed=0
pkglibdir=""
[ -x "$PG_CONFIG" ] && pkglibdir="$("$PG_CONFIG" --pkglibdir)"

if [ -z "$pkglibdir" ] || ! ls "$pkglibdir"/timescaledb*.so >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "TimescaleDB is missing and building it needs root: run 'sudo make setup', or install TimescaleDB for PostgreSQL ${PG_MAJOR} yourself."
  command -v apt-get >/dev/null || die "TimescaleDB is missing and this is not a Debian system: install TimescaleDB for PostgreSQL ${PG_MAJOR}."
  echo "setup-timescaledb: building TimescaleDB (Apache-2 edition) from Debian's source package..."
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg -s "postgresql-server-dev-${PG_MAJOR}" cmake dpkg-dev >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq "postgresql-server-dev-${PG_MAJOR}" cmake dpkg-dev >/dev/null
  fi
  PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
  pkglibdir="$("$PG_CONFIG" --pkglibdir)"

  # A private apt configuration whose only source is trixie's deb-src on the mirror this system
  # already uses, so the system's own apt setup is untouched.
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$mirror" ] || mirror="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list."
  work="$(mktemp -d /tmp/timescaledb-build.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=-"
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only timescaledb >/dev/null)
  (cd "$work/src" && dpkg-source -x --no-check ./*.dsc build >/dev/null)
  (cd "$work/src/build" && ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
      -DWARNINGS_AS_ERRORS=OFF -DSEND_TELEMETRY_DEFAULT=OFF -DUSE_TELEMETRY=OFF \
      -DPG_CONFIG="$PG_CONFIG" >/dev/null && make -C build -j"$(nproc)" install >/dev/null)
  ls "$pkglibdir"/timescaledb*.so >/dev/null 2>&1 || die "the build finished but timescaledb.so is not in $pkglibdir."
  restart_needed=1
fi

if [ -d "$CONF_D" ] && ! grep -rqs "timescaledb" "$CONF_D"; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL does not preload timescaledb: add shared_preload_libraries = 'timescaledb' to $CONF_D and restart it."
  echo "shared_preload_libraries = 'timescaledb'" >"$PRELOAD_CONF"
  restart_needed=1
fi

if [ "$restart_needed" = 1 ] && command -v pg_ctlcluster >/dev/null; then
  echo "setup-timescaledb: restarting PostgreSQL ${PG_MAJOR} to preload timescaledb"
  pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" main restart
fi
echo "setup-timescaledb: TimescaleDB ready"
