"""leadgate settings: one module, every knob from the environment.

Two modes, chosen by what the environment provides:
- production-like: DATABASE_URL (PostgreSQL) and REDIS_URL set -> real Celery workers;
- embedded demo: neither set -> the embedded PostgreSQL that scripts/demo.sh starts in
  the project folder, and tasks run in-process (eager). PostgreSQL is the only database.
  scripts/demo.sh prints a banner saying which mode is active.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.env import (
    EMBEDDED_DATABASE_NAME,
    ImproperlyConfiguredEnv,
    embedded_pgdata,
    env_bool,
    env_int,
    env_list,
    env_str,
    green_worker,
    parse_database_url,
    socket_database_url,
)
from config.logs import logging_config
from config.static_headers import add_revalidation_window

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)
# The key signs sessions, access tokens and form tokens: a published one would let anyone
# forge them, so only a debug run (development) may go without. It then uses a fixed key,
# the same in every process (web, worker, reloads), with the prefix that makes
# `check --deploy` flag it.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set, and leadgate will not sign sessions and tokens "
            "with a key anyone could know. Make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))' "
            "and export it as DJANGO_SECRET_KEY (keep it secret and the same across "
            "restarts), or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-leadgate-development-only-key"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base URL of this service, used in links we hand out (content_url, embed snippet).
LEADGATE_BASE_URL = env_str("LEADGATE_BASE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    # Django's admin, entered only by those config/roles.py calls marketers (and staff).
    "config.admin_site.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    # Redoc's files for /api/docs/, served by leadgate itself (no CDN).
    "drf_spectacular_sidecar",
    "csp",
    "forms_app",
    "profiling",
]

# The events beacon leaves Django's handler early, with only the middleware that
# applies to it (profiling/beacon.py): under gunicorn before the handler (config/wsgi.py),
# elsewhere first in MIDDLEWARE. 0 sends it through the whole chain, as every page.
LEADGATE_BEACON_EARLY_DISPATCH = env_bool("LEADGATE_BEACON_EARLY_DISPATCH", default=True)
MIDDLEWARE = [
    # First: every answer carries a request id, and every log line and task it leads to.
    "config.request_id.RequestIdMiddleware",
    *(["profiling.beacon.PublicBeaconMiddleware"] if LEADGATE_BEACON_EARLY_DISPATCH else []),
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: a policy on every page and API answer, none on static files.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into config.lockout's answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # config/templates: the API reader's page (config/api_docs.py).
        "DIRS": [BASE_DIR / "config" / "templates"],
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
# Without DATABASE_URL: the demo's embedded PostgreSQL (scripts/demo_postgres.py),
# whose data and Unix socket live in LEADGATE_DEMO_PGDATA. scripts/demo.sh exports the
# URL itself; this default lets `manage.py` reach that server while the demo runs.
EMBEDDED_PGDATA = embedded_pgdata(BASE_DIR)
DATABASES = {
    "default": parse_database_url(
        DATABASE_URL
        or socket_database_url(socket_dir=str(EMBEDDED_PGDATA), name=EMBEDDED_DATABASE_NAME)
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Under the production server's gevent worker (gunicorn.conf.py) every request is a
# greenlet, and Django keeps one connection per thread, which gevent makes one per
# greenlet: a persistent connection would be opened by each request and never reused
# (nor closed until garbage-collected). So there each request borrows a connection from
# a per-process pool and gives it back when it ends. Celery, management commands, tests
# and any threaded server keep their persistent per-thread connections.
GREEN_WORKER = green_worker()
if GREEN_WORKER:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"]["OPTIONS"],  # type: ignore[dict-item]
        "pool": {
            "min_size": 1,
            # Requests that touch the database at once, per process (the events beacon
            # writes through connections of its own: profiling/ingest_writer/connections.py).
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
# Three queues (config/celery.py routes each task): CRM deliveries, scoring, and the rest
# (emails, sweeps of emails, rescoring, decay). A worker started without -Q reads all
# three; `-Q <deliveries queue>` makes a node that only delivers. The background queue
# keeps the name every task used before there were three, so messages already waiting
# on a running installation are still read.
CELERY_TASK_DEFAULT_QUEUE = env_str("LEADGATE_CELERY_QUEUE", default="leadgate")
LEADGATE_CELERY_DELIVERY_QUEUE = env_str("LEADGATE_CELERY_DELIVERY_QUEUE", default="deliveries")
LEADGATE_CELERY_SCORING_QUEUE = env_str("LEADGATE_CELERY_SCORING_QUEUE", default="scoring")
# What a worker started without -Q reads: all three.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in (
        LEADGATE_CELERY_DELIVERY_QUEUE,
        LEADGATE_CELERY_SCORING_QUEUE,
        CELERY_TASK_DEFAULT_QUEUE,
    )
]

# --- Auth, i18n, static ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
# A login without ?next= lands in the workspace (Django's default is /accounts/profile/).
LOGIN_REDIRECT_URL = "/app/"
# django-axes first: it refuses a locked-out username and address pair before any
# password is checked, and counts the failures (ModelBackend checks the password).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling on /app/login/, /admin/login/ and POST /api/v1/auth/token: after this
# many wrong passwords for one username from one address, that pair (and only it:
# colleagues behind one office NAT still log in) is refused for the cool-off.
AXES_FAILURE_LIMIT = env_int("LEADGATE_LOGIN_FAILURE_LIMIT", default=5)
_login_cooloff_s = env_int("LEADGATE_LOGIN_COOLOFF_S", default=15 * 60)
if AXES_FAILURE_LIMIT < 1 or _login_cooloff_s < 1:
    # axes reads a zero cool-off as "locked until an admin unlocks".
    raise ImproperlyConfiguredEnv(
        "LEADGATE_LOGIN_FAILURE_LIMIT and LEADGATE_LOGIN_COOLOFF_S must be at least 1"
    )
AXES_COOLOFF_TIME = timedelta(seconds=_login_cooloff_s)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A lock lasts the cool-off from the failure that set it: tries during it do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# The same client address as the rate limits (LEADGATE_TRUST_X_FORWARDED_FOR).
AXES_CLIENT_IP_CALLABLE = "config.ratelimit.client_ip"
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
# Failures are what throttling needs; a row per successful login would grow without end.
AXES_DISABLE_ACCESS_LOG = True
LANGUAGE_CODE = "en"
# What a visitor may read (a gate's `language`); the workspace stays in English.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
# Compiled catalogs are committed: the runtime needs no gettext tools.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# `python manage.py collectstatic --noinput` (a production step: README) writes here each
# file under its own name and under a content-hashed one, each with a .gz and a .br beside
# it. WhiteNoise serves this folder, compressed for browsers that accept it.
STATIC_ROOT = Path(env_str("LEADGATE_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Pages link the hashed names ({% static %}), cached for good (config/static_headers.py).
    "staticfiles": {"BACKEND": "config.static_storage.CompressedManifestStorage"},
}
# The unhashed names stay: the contract's /static/leadgate.js is embedded by that URL.
WHITENOISE_KEEP_ONLY_HASHED_FILES = False
# Debug (development, the demo's default): straight from static/, edits seen at once,
# unhashed and uncompressed. Otherwise only what collectstatic wrote.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Fixed URLs (unhashed names): fresh for 5 minutes, then revalidated (config/static_headers.py).
WHITENOISE_MAX_AGE = 0 if DEBUG else 300
WHITENOISE_ADD_HEADERS_FUNCTION = add_revalidation_window
MEDIA_ROOT = Path(env_str("LEADGATE_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# PDFs read inline on a gate (forms_app/services/pdf.py): larger uploads, or ones with
# more pages, are refused with a message saying so.
LEADGATE_PDF_MAX_BYTES = env_int("LEADGATE_PDF_MAX_BYTES", default=50 * 1024 * 1024, minimum=1)
LEADGATE_PDF_MAX_PAGES = env_int("LEADGATE_PDF_MAX_PAGES", default=1000, minimum=1)
# Images uploaded for section bodies (forms_app/images.py): larger files are refused.
LEADGATE_IMAGE_MAX_BYTES = env_int("LEADGATE_IMAGE_MAX_BYTES", default=5 * 1024 * 1024, minimum=1)

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
    # Closed by default: a view that names no policy is for marketers only (config/roles.py).
    "DEFAULT_PERMISSION_CLASSES": ["config.roles.MarketerOnly"],
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
    # The readers' files come from drf-spectacular-sidecar (pinned in pyproject.toml) and
    # are served from /static/: the docs work offline and behind a proxy, and the page's
    # CSP allows no other host. Swagger UI is not routed; set for whoever adds it.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.roles.openapi_roles",  # before contract_paths: it matches the views' paths
        "config.openapi.contract_paths",
        # Every 4xx the framework and the API's policies answer, in the error shape.
        "config.openapi.error_responses",
    ],
}

# --- leadgate ---------------------------------------------------------------------------
# Contract: webhook endpoints resolving to loopback/private/link-local addresses are
# refused unless this is set (tests and the built-in sandbox CRM inbox need it).
LEADGATE_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADGATE_WEBHOOK_ALLOW_PRIVATE", default=False)
# The built-in sandbox inboxes (/sandbox/...): a demo and set-up aid that anyone may post
# to, so they answer 404 unless asked for (scripts/demo.sh sets it).
LEADGATE_SANDBOX = env_bool("LEADGATE_SANDBOX", default=False)
LEADGATE_WEBHOOK_TIMEOUT_S = env_int("LEADGATE_WEBHOOK_TIMEOUT_S", default=10)
# Outgoing email, with Django's own setting names. Without EMAIL_HOST (the demo) mail is
# stored in the sandbox mail inbox (/sandbox/mail/) instead of being sent.
EMAIL_HOST = env_str("EMAIL_HOST", default="")
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
# A send that hangs is a failed attempt, retried later (never a stuck worker).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="leadgate <noreply@localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "profiling.mail_backend.SandboxEmailBackend"
)
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
# was rendered is answered like a success and held in the quarantine (not a lead until a
# marketer releases it); its signed token expires after the max age.
# 1.5 s: scripted posts arrive within milliseconds of the render, while a person even with
# autofill needs two seconds or more to load, fill and press submit.
LEADGATE_FORM_MIN_FILL_MS = env_int("LEADGATE_FORM_MIN_FILL_MS", default=1500)
LEADGATE_FORM_TOKEN_MAX_AGE_S = env_int("LEADGATE_FORM_TOKEN_MAX_AGE_S", default=2 * 86400)
# Forged or too-fast tokens are always quarantined. A *missing* token is accepted by default
# because the public contract's submission body has no token field (server-side and
# contract-following clients must keep working); sites whose forms all come from
# leadgate.js or the hosted page can set this to quarantine token-less submissions too.
LEADGATE_FORM_TOKEN_REQUIRED = env_bool("LEADGATE_FORM_TOKEN_REQUIRED", default=False)
# The quarantine keeps at most this many submissions per gate per day; beyond it a bot
# flood is only counted (a person is rarely among thousands of scripted posts).
LEADGATE_QUARANTINE_MAX_PER_GATE_DAY = env_int("LEADGATE_QUARANTINE_MAX_PER_GATE_DAY", default=500)
# A full rescore splits the leads between this many database sessions running at once
# (profiling/services/rescore/): about the number of cores PostgreSQL may use for it.
LEADGATE_RESCORE_SESSIONS = env_int("LEADGATE_RESCORE_SESSIONS", default=2)
LEADGATE_EVENTS_MAX_BATCH = 100
# Events per minute (a batch of n counts n) per visitor and per client address, on the
# events beacon; Segment ingest counts per address. 429 with Retry-After beyond; 0 turns a
# limit off. A person reading sends a few a minute; the per-address one leaves room for
# an office behind one NAT. The benchmarks and load tests set both to 0.
LEADGATE_EVENT_LIMIT_PER_VISITOR = env_int("LEADGATE_EVENT_LIMIT_PER_VISITOR", default=600)
LEADGATE_EVENT_LIMIT_PER_IP = env_int("LEADGATE_EVENT_LIMIT_PER_IP", default=6000)
LEADGATE_EVENTS_MAX_BYTES = 64 * 1024
# How often a process reads the shared stamp that tells it cached gates, sources and rules
# changed elsewhere (config/stamped_cache.py; one Redis GET by the first request due). An
# addition is never refused meanwhile (a miss reads the database); a removal (a file, an
# origin, a deactivated gate) is honoured by other processes within this. 0: every request.
LEADGATE_CACHE_CHECK_MS = env_int("LEADGATE_CACHE_CHECK_MS", default=500)
# The ingest statement runs as a server-side prepared statement (parsed and planned once
# per connection; see profiling/ingest_writer/prepared.py). Set to 0 behind a
# transaction-mode pooler that cannot track protocol-level prepared statements.
LEADGATE_INGEST_PREPARED = env_bool("LEADGATE_INGEST_PREPARED", default=True)
# Small batches arriving together in one web process share one statement and commit
# (profiling/ingest_writer/group.py), with at most this many statements in flight.
LEADGATE_INGEST_GROUP_COMMIT = env_bool("LEADGATE_INGEST_GROUP_COMMIT", default=True)
LEADGATE_INGEST_GROUP_WRITERS = env_int("LEADGATE_INGEST_GROUP_WRITERS", default=2, minimum=1)
# Anonymous visitors' events (no lead: nobody ever identified on that browser) older than
# this many days are deleted by a daily beat task (profiling/services/retention.py); a
# visitor left with no events goes too. Events of leads are kept while the lead is (they
# make the score, and erasure anonymises them). 0 keeps anonymous events forever.
LEADGATE_ANONYMOUS_RETENTION_DAYS = env_int(
    "LEADGATE_ANONYMOUS_RETENTION_DAYS", default=180, minimum=0
)
# Events (of leads too) older than this many days are dropped a whole month partition at a
# time by the beat task (profiling/partitions.py): a month goes once its last day is past
# the cut-off, so up to a month more is kept. 0 (the default) keeps every event.
LEADGATE_EVENT_RETENTION_DAYS = env_int("LEADGATE_EVENT_RETENTION_DAYS", default=0, minimum=0)
# Segment-compatible ingest: requests in flight per process before answering 429.
LEADGATE_SEGMENT_MAX_INFLIGHT = env_int("LEADGATE_SEGMENT_MAX_INFLIGHT", default=64)

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- HTTPS behind a proxy ---------------------------------------------------------------
# Set LEADGATE_HTTPS=1 when leadgate is served over HTTPS by a proxy that terminates TLS
# and sets X-Forwarded-Proto (and strips it from what clients send). Then every plain-HTTP
# request is redirected, cookies are sent over HTTPS only and browsers are told to use
# HTTPS for a year (HSTS). The events beacon and Segment endpoints behind such a proxy are
# reached over HTTPS already, so the redirect never touches them.
LEADGATE_HTTPS = env_bool("LEADGATE_HTTPS", default=False)
if LEADGATE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# HSTS preload is left off: entering the browsers' preload list binds every subdomain of
# the operator's registered domain to HTTPS for months even after the header is removed,
# a decision about their whole domain that a lead-capture service must not take for them.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Probes and scrapers come from inside the network over plain HTTP (config/health.py):
# answered as they are, never redirected (SecurityMiddleware matches these against the
# path without its leading slash).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Operations ----------------------------------------------------------------------------
# GET /metrics answers only `Authorization: Bearer <this>`; unset, the endpoint is a 404.
LEADGATE_METRICS_TOKEN = env_str("LEADGATE_METRICS_TOKEN", default="")

# --- Content-Security-Policy (django-csp) ------------------------------------------------
# Everything leadgate's pages load comes from leadgate itself: no third-party hosts, no
# inline script without the request's nonce (`{{ request.csp_nonce }}`), no inline
# styles, and no framing. Views that differ say so themselves: the embed
# (frame-ancestors from the gate's allowed_origins, forms_app/views/gate.py), the
# workspace's live preview (same-origin framing) and the API reader (config/api_docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# `plain` text lines, or `json`: one JSON object per line with the request id
# (config/logs.py; Celery workers too, through config/celery.py).
LEADGATE_LOG_FORMAT = env_str("LEADGATE_LOG_FORMAT", default="plain").strip().lower()
if LEADGATE_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfiguredEnv("LEADGATE_LOG_FORMAT must be plain or json")
LOGGING = logging_config(
    log_format=LEADGATE_LOG_FORMAT, level=env_str("LEADGATE_LOG_LEVEL", default="INFO")
)
