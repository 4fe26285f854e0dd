# ScadaPRO application image. One image serves every Python process of the platform (web, ingest,
# worker, beat, simulator, migrate); docker-compose.yml chooses the command. The default command
# is the web server.

# Browser libraries (package.json, pinned by package-lock.json), served as static files. Only
# their dist/ folders reach the application image: no Node.js at run time.
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=scadapro.settings

WORKDIR /app

# Unprivileged runtime user with a fixed uid/gid, so volume ownership is predictable.
RUN groupadd --system --gid 10001 scadapro \
 && useradd --system --uid 10001 --gid scadapro --home-dir /home/scadapro --create-home \
        --shell /usr/sbin/nologin scadapro

# Dependencies first, so this layer is rebuilt only when requirements.txt changes. Every pinned
# package ships a binary wheel for CPython 3.11 on glibc, so no compiler is needed.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The project (see .dockerignore for what stays out). It stays owned by root: the runtime user can
# read but not modify the code; processes write only to /tmp (e.g. celery beat's schedule file)
# or to mounted volumes.
COPY . .
COPY --from=assets /assets/node_modules/uplot/dist node_modules/uplot/dist
COPY --from=assets /assets/node_modules/gridstack/dist node_modules/gridstack/dist

# Static files are collected at build time (served by WhiteNoise). Importing the settings requires
# SECRET_KEY and a SCADAPRO_API_TOKEN of at least 32 characters; these throwaway values exist only
# for this one command and are not part of the image's environment. The real ones come from .env
# at run time.
RUN SECRET_KEY=build-only-not-a-secret-never-used-at-runtime \
    SCADAPRO_API_TOKEN=build-only-placeholder-token-never-used-at-runtime \
    python manage.py collectstatic --noinput

USER 10001:10001

EXPOSE 8000

# Healthy when Django answers /api/health. The request goes straight to Daphne, not through nginx,
# so it names an allowed host itself (the first ALLOWED_HOSTS entry; otherwise Django answers
# 400) and says it came over HTTPS (otherwise SECURE_SSL_REDIRECT answers with a redirect to
# https://127.0.0.1:8000). Any error, non-2xx status or timeout makes the check fail. Slim images
# have no curl, hence Python's urllib.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = next((x.strip() for x in os.environ.get('ALLOWED_HOSTS', '').split(',') if x.strip()), 'localhost'); h = 'localhost' if h == '*' else h.lstrip('.'); u.urlopen(u.Request('http://127.0.0.1:8000/api/health', headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=4)"]

# Daphne serves HTTP and WebSockets. --proxy-headers: take the client address and scheme from
# nginx's X-Forwarded-For / X-Forwarded-Proto.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "scadapro.asgi:application"]
