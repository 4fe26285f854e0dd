"""ScadaPRO settings, read from the environment (and from `.env` at the repository root).

Every variable is documented in config/.env.example. A malformed value stops start-up with a
message naming it (see scadapro/env.py).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from scadapro.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

# The process environment wins over .env, so one-off overrides on the command line work.
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", default=False)
# No default: `make setup` generates one into .env; a deployment must provide its own.
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The deployment token of the seed: a bearer token for API clients and collectors.
SCADAPRO_API_TOKEN = env_str("SCADAPRO_API_TOKEN")
if len(SCADAPRO_API_TOKEN) < 32:
    raise ImproperlyConfigured("SCADAPRO_API_TOKEN must be at least 32 characters long.")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "apps.accounts",
    "apps.plant",
    "apps.telemetry",
    "apps.alarms",
    "apps.history",
    "apps.live",
    "apps.boards",
    "apps.system",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "scadapro.urls"
WSGI_APPLICATION = "scadapro.wsgi.application"
ASGI_APPLICATION = "scadapro.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.role",
            ],
        },
    },
]

# --- Services ---------------------------------------------------------------------------------
DATABASE = env_url(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scadapro", {"postgres": 5432, "postgresql": 5432}
)
if not DATABASE.path:
    raise ImproperlyConfigured("DATABASE_URL names no database (postgres://user@host:5432/DBNAME).")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE.path,
        "USER": DATABASE.username or "postgres",
        "PASSWORD": DATABASE.password or "",
        "HOST": DATABASE.host,
        "PORT": DATABASE.port,
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
    }
}

REDIS = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", {"redis": 6379, "rediss": 6379})
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

MQTT = env_url("MQTT_URL", "mqtt://127.0.0.1:1883", {"mqtt": 1883, "mqtts": 8883})
# Shared-subscription group of the ingest workers: N workers in one group split the stream.
MQTT_INGEST_GROUP = env_str("MQTT_INGEST_GROUP", "scadapro-ingest")
MQTT_INGEST_CLIENT_ID = env_str("MQTT_INGEST_CLIENT_ID", "scadapro-ingest-1")

# --- Ingest -----------------------------------------------------------------------------------
# A batch is written when it holds INGEST_BATCH_SIZE messages or its oldest waited this long.
# Keep the batch size below the broker's max_inflight_messages: messages are acknowledged only
# after their batch commits, so the broker sends no more than that many unacknowledged.
INGEST_BATCH_SIZE = env_int("INGEST_BATCH_SIZE", 5000, minimum=1)
INGEST_BATCH_WAIT_MS = env_int("INGEST_BATCH_WAIT_MS", 50, minimum=1)
# Clock-skew allowance: a reading stamped further ahead than this is rejected.
INGEST_MAX_FUTURE_SECONDS = env_int("INGEST_MAX_FUTURE_SECONDS", 300, minimum=0)
# Rejected messages kept for inspection in admin (the oldest are dropped first).
INGEST_REJECTED_KEEP = env_int("INGEST_REJECTED_KEEP", 10000, minimum=0)


def channel_layers(database_name: str) -> dict:
    """Channels over Redis pub/sub, named after the database: two deployments (or the tests and a
    demo) sharing one Redis never receive each other's live updates. Pub/sub: a group message
    reaches each Daphne process once and is handed to its consumers there, instead of one Redis
    list entry and one round trip per browser; what is missed while away is re-sent on subscribe."""
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"scadapro.{database_name}"},
        }
    }


CHANNEL_LAYERS = channel_layers(DATABASE.path)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
SYSTEM_STATUS_INTERVAL = env_int("SYSTEM_STATUS_INTERVAL", 10, minimum=1)
# --- Alarms ---------------------------------------------------------------------------------------
# Seconds between runs of the timer task: on/off-delays with no new reading, shelving expiry and
# communication loss are noticed within this much.
ALARM_TIMER_INTERVAL = env_int("ALARM_TIMER_INTERVAL", 2, minimum=1)
ALARM_SHELVE_MAX_MINUTES = env_int("ALARM_SHELVE_MAX_MINUTES", 24 * 60, minimum=1)
ALARM_STALE_HOURS = env_int("ALARM_STALE_HOURS", 24, minimum=1)  # KPI: active longer than this is stale
ALARM_NOTIFY_MAX_RETRIES = env_int("ALARM_NOTIFY_MAX_RETRIES", 5, minimum=0)
ALARM_WEBHOOK_TIMEOUT = env_int("ALARM_WEBHOOK_TIMEOUT", 10, minimum=1)

# --- Live updates (/ws/realtime) ------------------------------------------------------------------
# A machine's readings go to browsers at most once per this many milliseconds (newest values win).
LIVE_MACHINE_INTERVAL_MS = env_int("LIVE_MACHINE_INTERVAL_MS", 250, minimum=10)
# Updates a WebSocket client may leave unacknowledged before the server holds (and merges) the next.
LIVE_CLIENT_WINDOW = env_int("LIVE_CLIENT_WINDOW", 4, minimum=1)

# --- History ------------------------------------------------------------------------------------
# Seconds between rollup refreshes (Celery beat on the Apache edition, refresh policies on the
# Community edition); reads include newer data from the raw readings either way.
ROLLUP_REFRESH_INTERVAL = env_int("ROLLUP_REFRESH_INTERVAL", 60, minimum=5)
# Days kept; older whole chunks are dropped (daily drop_chunks on Apache, retention policies on
# Community: those follow these settings at the next `migrate`).
HISTORY_RAW_RETENTION_DAYS = env_int("HISTORY_RAW_RETENTION_DAYS", 365, minimum=1)
HISTORY_ROLLUP_RETENTION_DAYS = env_int("HISTORY_ROLLUP_RETENTION_DAYS", 3650, minimum=1)
# Community edition only: raw chunks older than this are compressed (segmented by sensor).
HISTORY_COMPRESS_AFTER_DAYS = env_int("HISTORY_COMPRESS_AFTER_DAYS", 7, minimum=1)

# E-mail for alarm notifications (EMAIL_HOST empty: e-mail routes fail with a clear error).
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "scadapro@localhost")

CELERY_BEAT_SCHEDULE = {
    "publish-system-status": {
        "task": "apps.system.tasks.publish_system_status",
        "schedule": float(SYSTEM_STATUS_INTERVAL),
        "options": {"expires": SYSTEM_STATUS_INTERVAL},
    },
    "run-alarm-timers": {
        "task": "apps.alarms.tasks.run_timers",
        "schedule": float(ALARM_TIMER_INTERVAL),
        "options": {"expires": ALARM_TIMER_INTERVAL},
    },
    "refresh-rollups": {
        "task": "apps.history.tasks.refresh_rollups",
        "schedule": float(ROLLUP_REFRESH_INTERVAL),
        "options": {"expires": ROLLUP_REFRESH_INTERVAL},
    },
    "apply-history-retention": {
        "task": "apps.history.tasks.apply_retention",
        "schedule": 24 * 3600.0,
        "options": {"expires": 3600},
    },
    "publish-postgresql-status": {
        "task": "apps.system.tasks.publish_postgresql_status",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_ENGINE = "django.contrib.sessions.backends.db"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first, so an unauthenticated request gets 401 with a WWW-Authenticate header.
        "apps.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.ReadAnyRoleWriteEngineer"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ScadaPRO API",
    "VERSION": "0.2.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is an API endpoint like the others: a token or a session is required.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Alarm, journal and rule serializers share these choice sets: one schema enum each.
    "ENUM_NAME_OVERRIDES": {
        "AlarmKindEnum": "apps.alarms.choices.Kind",
        "AlarmEventKindEnum": "apps.alarms.choices.EventKind",
        "AlarmStateEnum": "apps.alarms.choices.State",
    },
}

# --- I18N, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Browser libraries come from npm (package.json; `make setup` runs npm ci), not copies in git.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
    ("vendor/gridstack", BASE_DIR / "node_modules" / "gridstack" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security: production defaults whenever DEBUG is off ---------------------------------------
# Behind a TLS-terminating proxy (config/nginx.conf) that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
