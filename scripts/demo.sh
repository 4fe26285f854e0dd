#!/usr/bin/env bash
# `make demo`: load the demo plant, make sure the admin user exists, then run every process in
# the foreground with honcho until Ctrl-C (which stops them all cleanly).
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . ./.env; set +a

.venv/bin/python manage.py plant import config/plant.demo.yaml | tail -n 1
.venv/bin/python manage.py ensure_admin

cat <<MSG

  ScadaPRO is starting: http://${SCADAPRO_BIND:-127.0.0.1}:${SCADAPRO_PORT:-8000}/
    admin      http://${SCADAPRO_BIND:-127.0.0.1}:${SCADAPRO_PORT:-8000}/admin/   user: admin   password: ${SCADAPRO_ADMIN_PASSWORD}
    API        curl -H "Authorization: Bearer \$SCADAPRO_API_TOKEN" http://${SCADAPRO_BIND:-127.0.0.1}:${SCADAPRO_PORT:-8000}/api/machines
               (the token is SCADAPRO_API_TOKEN in .env)
  Ctrl-C stops every process.

MSG
exec .venv/bin/honcho start -f Procfile
