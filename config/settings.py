"""leadgate settings: one module, every knob from the environment.

Two modes, chosen by what the environment provides:
- production-like: DATABASE_URL (PostgreSQL) and REDIS_URL set -> real Celery workers;
- embedded demo: neither set -> SQLite file and tasks run in-process (eager).
  scripts/demo.sh prints a banner saying which mode is active.
"""

from __future__ import annotations

from pathlib import Path

from config.env import env_bool, env_int, env_list, env_str, green_worker, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env_bool("LEADGATE_REQUIRE_SECRET", default=False):
        raise RuntimeError("DJANGO_SECRET_KEY is required when LEADGATE_REQUIRE_SECRET=1")
    # Demo and tests only: a fixed key is fine on a laptop, and the start banner warns.
    SECRET_KEY = "leadgate-insecure-demo-key-set-DJANGO_SECRET_KEY-in-production"
    INSECURE_SECRET_KEY = True
else:
    INSECURE_SECRET_KEY = False

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base URL of this service, used in links we hand out (content_url, embed snippet).
LEADGATE_BASE_URL = env_str("LEADGATE_BASE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "forms_app",
    "profiling",
]

MIDDLEWARE = [
    # First: the public events beacon leaves here with only the middleware that applies
    # to it (config/middleware.py).
    "config.middleware.PublicBeaconMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Data stores ---------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", default="")
EMBEDDED_DATABASE = not DATABASE_URL
DATABASES = {
    "default": parse_database_url(DATABASE_URL or f"sqlite:///{BASE_DIR / 'leadgate.sqlite3'}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Under the production server's gevent worker (gunicorn.conf.py) every request is a
# greenlet, and Django keeps one connection per thread, which gevent makes one per
# greenlet: a persistent connection would be opened by each request and never reused
# (nor closed until garbage-collected). So there each request borrows a connection from
# a per-process pool and gives it back when it ends. Celery, management commands, tests
# and any threaded server keep their persistent per-thread connections.
GREEN_WORKER = green_worker()
if GREEN_WORKER and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"]["OPTIONS"],  # type: ignore[dict-item]
        "pool": {
            "min_size": 1,
            # Requests that touch the database at once, per process (the events beacon
            # writes through connections of its own: profiling/services/ingest/connections.py).
            "max_size": env_int("LEADGATE_DB_POOL_MAX", default=10),
            "timeout": 30,
        },
    }

REDIS_URL = env_str("REDIS_URL", default="")
EMBEDDED_TASKS = not REDIS_URL
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "leadgate",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery (see config/celery.py for the app) ----------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Embedded mode has no broker process: run tasks in-process right after commit.
CELERY_TASK_ALWAYS_EAGER = EMBEDDED_TASKS
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = env_str("LEADGATE_CELERY_QUEUE", default="leadgate")

# --- Auth, i18n, static ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The demo runs without collectstatic: let WhiteNoise serve straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env_str("LEADGATE_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# Request bodies: the events endpoint caps batches at 64 KiB itself; Segment ingest
# accepts 500 KB. Anything larger is refused before it is read into memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 600 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The contract's single error shape: {"errors": {"<field or __all__>": [...]}}.
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "leadgate API",
    "DESCRIPTION": "Lead-capture gates with passive profiling: public endpoints, marketer API.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.contract_paths",
        # Every 4xx the framework and the API's policies answer, in the error shape.
        "config.openapi.error_responses",
    ],
}

# --- leadgate ---------------------------------------------------------------------------
# Contract: webhook endpoints resolving to loopback/private/link-local addresses are
# refused unless this is set (tests and the built-in sandbox CRM inbox need it).
LEADGATE_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADGATE_WEBHOOK_ALLOW_PRIVATE", default=False)
LEADGATE_WEBHOOK_TIMEOUT_S = env_int("LEADGATE_WEBHOOK_TIMEOUT_S", default=10)
# A claimed delivery is leased for timeout + grace: a worker killed mid-POST leaves the
# row to the beat sweep once the lease runs out (the fault tests shorten it).
LEADGATE_WEBHOOK_LEASE_GRACE_S = env_int("LEADGATE_WEBHOOK_LEASE_GRACE_S", default=30)
# An endpoint with no 2xx for this many days (while deliveries keep failing) is disabled.
LEADGATE_WEBHOOK_DISABLE_AFTER_DAYS = env_int("LEADGATE_WEBHOOK_DISABLE_AFTER_DAYS", default=5)
# Access tokens for gated content (hosted page, tracked downloads) stay valid this long.
LEADGATE_ACCESS_TOKEN_MAX_AGE_S = env_int("LEADGATE_ACCESS_TOKEN_MAX_AGE_S", default=90 * 86400)
# Submissions per client IP per gate per minute, and per gate per minute (429 beyond).
LEADGATE_SUBMIT_LIMIT_PER_IP = env_int("LEADGATE_SUBMIT_LIMIT_PER_IP", default=10)
LEADGATE_SUBMIT_LIMIT_PER_GATE = env_int("LEADGATE_SUBMIT_LIMIT_PER_GATE", default=600)
# Only behind a proxy you run: otherwise clients could pick their own rate-limit key.
LEADGATE_TRUST_X_FORWARDED_FOR = env_bool("LEADGATE_TRUST_X_FORWARDED_FOR", default=False)
# Spam without captchas (forms_app/spam.py): a submission sooner than this after its form
# was rendered is accepted-and-dropped; its signed token expires after the max age.
# 1.5 s: scripted posts arrive within milliseconds of the render, while a person even with
# autofill needs two seconds or more to load, fill and press submit.
LEADGATE_FORM_MIN_FILL_MS = env_int("LEADGATE_FORM_MIN_FILL_MS", default=1500)
LEADGATE_FORM_TOKEN_MAX_AGE_S = env_int("LEADGATE_FORM_TOKEN_MAX_AGE_S", default=2 * 86400)
# Forged or too-fast tokens are always dropped. A *missing* token is accepted by default
# because the public contract's submission body has no token field (server-side and
# contract-following clients must keep working); sites whose forms all come from
# leadgate.js or the hosted page can set this to drop token-less submissions too.
LEADGATE_FORM_TOKEN_REQUIRED = env_bool("LEADGATE_FORM_TOKEN_REQUIRED", default=False)
# A full rescore splits the leads between this many database sessions running at once
# (profiling/services/rescore.py): about the number of cores PostgreSQL may use for it.
LEADGATE_RESCORE_SESSIONS = env_int("LEADGATE_RESCORE_SESSIONS", default=2)
LEADGATE_EVENTS_MAX_BATCH = 100
LEADGATE_EVENTS_MAX_BYTES = 64 * 1024
# The ingest statements run as server-side prepared statements (parsed and planned once
# per connection; see profiling/services/ingest/prepared.py). Set to 0 behind a
# transaction-mode pooler that cannot track protocol-level prepared statements.
LEADGATE_INGEST_PREPARED = env_bool("LEADGATE_INGEST_PREPARED", default=True)
# Segment-compatible ingest: requests in flight per process before answering 429.
LEADGATE_SEGMENT_MAX_INFLIGHT = env_int("LEADGATE_SEGMENT_MAX_INFLIGHT", default=64)

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LEADGATE_LOG_LEVEL", default="INFO")},
}
