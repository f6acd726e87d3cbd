"""Weibao settings: one file, driven by environment variables.

Every helper below fails loudly (ImproperlyConfigured) on a value it cannot read, so a typo in
a deployment stops the process at start-up instead of running with a silent default.
Any variable can instead be given as NAME_FILE pointing at a file holding the value (Docker and
systemd credentials).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
_UNSET = object()


def env(name: str, default: str | object = _UNSET) -> str:
    """Read NAME, or the contents of the file named by NAME_FILE; fail if neither and no default."""
    file_var = os.environ.get(f"{name}_FILE")
    if file_var:
        try:
            return Path(file_var).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_var!r} cannot be read: {exc}") from exc
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is _UNSET:
        raise ImproperlyConfigured(f"Environment variable {name} is required.")
    return str(default)


def env_bool(name: str, default: bool) -> bool:
    raw = env(name, "1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int) -> int:
    raw = env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc


def env_period(name: str, default: str) -> tuple[int, bool]:
    """A span like "10wd" (working days) or "60d" (calendar days): (count, in working days)."""
    raw = env(name, default).strip().lower()
    working = raw.endswith("wd")
    digits = raw[:-2] if working else raw[:-1] if raw.endswith("d") else ""
    if not digits.isdigit() or int(digits) < 1:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a period such as 10wd or 60d.")
    return int(digits), working


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case-insensitive); anything else stops the process, naming them."""
    raw = env(name, default).strip().lower()
    if raw not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of: {', '.join(choices)}.")
    return raw


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG-mode-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATA_DIR = Path(env("WEIBAO_DATA_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "rules.apps.AutodiscoverRulesConfig",
    "django_tasks",
    "django_tasks_db",
    "weibao.core",
    "weibao.registry",
    "weibao.accounts",
    "weibao.inspections",
    "weibao.hazards",
    "weibao.enforcement",
    "weibao.reporting",
    "weibao.ledger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "weibao.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "weibao.urls"
WSGI_APPLICATION = "weibao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "weibao" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "weibao.core.context_processors.navigation",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'weibao.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from exc
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while the task worker writes; IMMEDIATE takes the write
    # lock at BEGIN, so two writers queue instead of failing with "database is locked".
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        # A page cache and a memory map large enough for the ledger's indexes: SQLite's
        # default cache (2 MB) makes ingest re-read index pages from the OS for every row.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            f"PRAGMA cache_size=-{env_int('SQLITE_CACHE_MB', 64) * 1024}; "
            f"PRAGMA mmap_size={env_int('SQLITE_MMAP_MB', 256) * 1024 * 1024};"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _db["TEST"] = {"NAME": env("TEST_SQLITE_NAME", "") or None}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
    _db["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured("DATABASE_URL must be sqlite:// or postgres://.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env("CACHE_URL", "locmem://")
if CACHE_URL.startswith("redis://") or CACHE_URL.startswith("rediss://"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured("CACHE_URL must be locmem:// or redis://host:port/db.")

# --- accounts -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "weibao.accounts.backends.UserBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per (username, client address) before that pair is refused for the window.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
# Behind nginx set this to the header carrying the client address, e.g. HTTP_X_REAL_IP;
# otherwise every client shares the proxy's address and one guesser locks a user out for all.
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", "")
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "weibao" / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static and media ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "weibao" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- domain thresholds (operators may tune; defaults follow domain.md) -------------------------
# A permit or certificate counts as "expiring" this many days before its expiry date.
EXPIRING_WITHIN_DAYS = env_int("EXPIRING_WITHIN_DAYS", 60)
MAX_SCAN_BYTES = env_int("MAX_SCAN_BYTES", 10 * 1024 * 1024)
# Photos on inspections and hazards (JPEG or PNG, checked by content).
MAX_PHOTO_BYTES = env_int("MAX_PHOTO_BYTES", 15 * 1024 * 1024)
# Default rectification deadlines by hazard level: "<n>wd" (working days, chinese-calendar) or
# "<n>d" (calendar days). An inspector or officer may always give a date instead.
HAZARD_DEADLINES = {
    "general": env_period("HAZARD_DEADLINE_GENERAL", "10wd"),
    "major": env_period("HAZARD_DEADLINE_MAJOR", "60d"),
}
# Reminders to the unit this many days before a hazard's deadline (and on the day itself).
HAZARD_REMIND_DAYS_BEFORE = env_int("HAZARD_REMIND_DAYS_BEFORE", 3)
# A hazard's deadline may be extended this many times before the city bureau must approve.
HAZARD_FREE_EXTENSIONS = env_int("HAZARD_FREE_EXTENSIONS", 1)
# --- enforcement (administrative penalty procedure; figures to verify, see docs/enforcement.md) --
# The unit may state its defence this long after the notice of intended penalty (告知).
CASE_DEFENCE_PERIOD = env_period("CASE_DEFENCE_PERIOD", "3wd")
# A hearing must be requested within this period after the notice, when the penalty allows one.
CASE_HEARING_REQUEST_PERIOD = env_period("CASE_HEARING_REQUEST_PERIOD", "5wd")
# A hearing may be requested for permit suspension or revocation, suspension of business, or a
# fine of at least these amounts (yuan) on a unit / on a person.
CASE_HEARING_FINE_UNIT = env_int("CASE_HEARING_FINE_UNIT", 10_000)
CASE_HEARING_FINE_PERSON = env_int("CASE_HEARING_FINE_PERSON", 2_000)
# A proposed case is confirmed or dismissed within this period; a registered case is decided
# within the second; a fine is paid within the third after the decision.
CASE_PROPOSAL_PERIOD = env_period("CASE_PROPOSAL_PERIOD", "5wd")
CASE_DECISION_PERIOD = env_period("CASE_DECISION_PERIOD", "90d")
CASE_PAYMENT_PERIOD = env_period("CASE_PAYMENT_PERIOD", "15d")
# Case documents are legal instruments: issued (and stored for good) in this language, whatever
# language the officer's screen uses.
CASE_DOCUMENT_LANGUAGE = env("CASE_DOCUMENT_LANGUAGE", "zh-hans")
# A case deadline this many working days away counts as "near" on home pages.
CASE_DEADLINE_NEAR_WORKING_DAYS = env_int("CASE_DEADLINE_NEAR_WORKING_DAYS", 3)
# Escalation (daily): a case is proposed when a unit leaves a major hazard overdue, leaves a
# hazard overdue after an extension, or has this many hazards overdue within the window (days).
ESCALATE_MAJOR_OVERDUE = env_bool("ESCALATE_MAJOR_OVERDUE", True)
ESCALATE_EXTENDED_OVERDUE = env_bool("ESCALATE_EXTENDED_OVERDUE", True)
ESCALATE_REPEAT_COUNT = env_int("ESCALATE_REPEAT_COUNT", 3)
ESCALATE_REPEAT_WINDOW_DAYS = env_int("ESCALATE_REPEAT_WINDOW_DAYS", 365)
# --- internal hazard reports (事故隐患内部报告奖励) ------------------------------------------
# Policy a unit starts with (each unit then sets its own): time limit for verification, reward
# by hazard level and the most paid for one report (yuan).
REPORT_VERIFY_PERIOD = env_period("REPORT_VERIFY_PERIOD", "5wd")
REPORT_REWARD_GENERAL = env_int("REPORT_REWARD_GENERAL", 200)
REPORT_REWARD_MAJOR = env_int("REPORT_REWARD_MAJOR", 2_000)
REPORT_REWARD_CAP = env_int("REPORT_REWARD_CAP", 10_000)
# Photos per report; each is also held to MAX_PHOTO_BYTES.
REPORT_MAX_PHOTOS = env_int("REPORT_MAX_PHOTOS", 6)
# Rate limits on the public reporting endpoints (no login): per device (a cookie the reporting
# page sets) and, more generously, per client address, which a whole workshop may share behind
# one NAT. Receipt lookups are limited per address so receipt codes cannot be tried in bulk.
REPORT_LIMIT_PER_DEVICE = env_int("REPORT_LIMIT_PER_DEVICE", 10)
REPORT_LIMIT_PER_ADDRESS = env_int("REPORT_LIMIT_PER_ADDRESS", 60)
REPORT_LIMIT_WINDOW_SECONDS = env_int("REPORT_LIMIT_WINDOW_SECONDS", 3600)
REPORT_LOOKUP_LIMIT_PER_ADDRESS = env_int("REPORT_LOOKUP_LIMIT_PER_ADDRESS", 60)
# --- traceability ledger ---------------------------------------------------------------------
# An ingest batch (API call, or one chunk of a file) holds at most this many events.
LEDGER_MAX_BATCH_ROWS = env_int("LEDGER_MAX_BATCH_ROWS", 100_000)
# ... and at most this many bytes of request body (checked before the body is read).
LEDGER_MAX_BATCH_BYTES = env_int("LEDGER_MAX_BATCH_BYTES", 64 * 1024 * 1024)
# `weibao ledger ingest` validates a file's next batch while a writer process writes the last.
LEDGER_INGEST_PIPELINE = env_bool("LEDGER_INGEST_PIPELINE", True)
# ... and on SQLite gives its connections this page cache (MB) instead of SQLITE_CACHE_MB.
LEDGER_INGEST_SQLITE_CACHE_MB = env_int("LEDGER_INGEST_SQLITE_CACHE_MB", 512)
# Reconciliation (weibao.ledger.reconcile, nightly and `weibao ledger reconcile`): the Parquet
# export it reads (incremental; layout in weibao/ledger/export.py) and the rules' limits.
LEDGER_EXPORT_DIR = Path(env("LEDGER_EXPORT_DIR", str(DATA_DIR / "ledger-export")))
# Ids missing from the export are looked up again this long (PostgreSQL commits out of id order).
LEDGER_EXPORT_GAP_HOURS = env_int("LEDGER_EXPORT_GAP_HOURS", 24)
LEDGER_NOT_RECEIVED_HOURS = env_int("LEDGER_NOT_RECEIVED_HOURS", 72)
LEDGER_LATE_FILING_DAYS = env_int("LEDGER_LATE_FILING_DAYS", 3)
# A loss at or above these is critical and reported to the county bureau at once (the criminal
# thresholds of illegal possession, Criminal Law art. 125: 30 detonators, 1 kg, 30 m of cord).
LEDGER_CRIMINAL_DETONATORS = env_int("LEDGER_CRIMINAL_DETONATORS", 30)
LEDGER_CRIMINAL_KG = env_int("LEDGER_CRIMINAL_KG", 1)
LEDGER_CRIMINAL_METRES = env_int("LEDGER_CRIMINAL_METRES", 30)
# DuckDB spills to disk past this; Spark's driver (local mode) gets this heap.
LEDGER_DUCKDB_MEMORY_LIMIT = env("LEDGER_DUCKDB_MEMORY_LIMIT", "3GB")
LEDGER_DUCKDB_TEMP_LIMIT = env("LEDGER_DUCKDB_TEMP_LIMIT", "20GB")
# The nightly job's engine (`weibao ledger reconcile` takes --engine). "spark" needs the extra
# installed where the worker runs: without it the job fails, it never falls back to DuckDB.
LEDGER_RECONCILE_ENGINE = env_choice("LEDGER_RECONCILE_ENGINE", "duckdb", ("duckdb", "spark"))
# Spark's master for the nightly job and for --engine spark without --master.
LEDGER_SPARK_MASTER = env("LEDGER_SPARK_MASTER", "local[*]").strip()
# Spark's own master forms; a typo would otherwise surface only at 02:00.
if not re.fullmatch(
    r"local(\[(\*|\d+)(,\d+)?\])?|local-cluster\[.+\]|yarn|(spark|k8s|mesos)://\S+",
    LEDGER_SPARK_MASTER,
):
    raise ImproperlyConfigured(
        f"LEDGER_SPARK_MASTER={LEDGER_SPARK_MASTER!r} is not a Spark master URL: use local[*], "
        "local[N], spark://host:7077, yarn or k8s://https://host:port."
    )
LEDGER_SPARK_DRIVER_MEMORY = env("LEDGER_SPARK_DRIVER_MEMORY", "4g")
# Firing authorization (起爆授权). Answers are signed with an Ed25519 key: LEDGER_SIGNING_KEY is
# its PKCS#8 PEM (normally given as LEDGER_SIGNING_KEY_FILE=/run/secrets/...); without it a key is
# generated once and kept, readable by this account only, at LEDGER_SIGNING_KEY_STORE. Public keys
# in LEDGER_SIGNING_RETIRED_KEYS (PEM, one or more) stay published after a rotation so devices can
# still check answers signed before it.
LEDGER_SIGNING_KEY = env("LEDGER_SIGNING_KEY", "")
LEDGER_SIGNING_KEY_STORE = Path(
    env("LEDGER_SIGNING_KEY_STORE", str(DATA_DIR / "ledger-signing-key.pem"))
)
LEDGER_SIGNING_RETIRED_KEYS = env("LEDGER_SIGNING_RETIRED_KEYS", "")
# Work codes: valid this long from the requested firing time (never past the project's window);
# derived by HMAC under LEDGER_WORK_CODE_SECRET (default: derived from SECRET_KEY).
LEDGER_WORK_CODE_MINUTES = env_int("LEDGER_WORK_CODE_MINUTES", 120)
LEDGER_WORK_CODE_SECRET = env("LEDGER_WORK_CODE_SECRET", "")
# UIDs per authorization request.
LEDGER_FIRING_MAX_UIDS = env_int("LEDGER_FIRING_MAX_UIDS", 1000)
# Spreadsheet imports (units, permits, people): a file over either limit is refused whole.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 10_000)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "weibao@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Weibao operators", addr) for addr in env_list("ADMINS")]
# Absolute address of the site, for links in e-mails sent by background jobs.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

# --- security -----------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe plain HTTP on the app port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes "not signed in" a 401, not a 403.
        "weibao.core.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "weibao.core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "weibao.core.api.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "weibao.core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "weibao.core.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth": env("AUTH_THROTTLE_RATE", "20/min")},
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Weibao API",
    "DESCRIPTION": (
        "Safety supervision of the hazardous- and explosive-materials sector. "
        "Errors are application/problem+json; lists are paginated with page and page_size."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LedgerBatchStatusEnum": "weibao.ledger.models.Batch.Status",
        "LedgerBatchSourceEnum": "weibao.ledger.models.Batch.Source",
        "AnomalyKindEnum": "weibao.ledger.models.Anomaly.Kind",
        "AnomalyStatusEnum": "weibao.ledger.models.Anomaly.Status",
        "AnomalySeverityEnum": "weibao.ledger.models.Anomaly.Severity",
        "LedgerEventKindEnum": "weibao.ledger.models.EventKind",
        "ItemStateEnum": "weibao.ledger.models.ItemState",
        "ProductKindEnum": "weibao.ledger.models.ProductKind",
        "ItemLevelEnum": "weibao.ledger.models.Level",
        "AgencyKindEnum": "weibao.accounts.models.Agency.Kind",
        "EnterpriseKindEnum": "weibao.registry.models.EnterpriseKind",
        "PermitKindEnum": "weibao.registry.models.Permit.Kind",
        "SiteKindEnum": "weibao.registry.models.Site.Kind",
        "CertificateKindEnum": "weibao.registry.models.Certificate.Kind",
        "ExpiryStateEnum": "weibao.registry.models.ExpiryState",
        "RoleEnum": "weibao.accounts.models.Role",
        "UnitRoleEnum": "weibao.accounts.models.UNIT_ROLE_CHOICES",
        "InspectionKindEnum": "weibao.inspections.models.Inspection.Kind",
        "InspectionStatusEnum": "weibao.inspections.models.Inspection.Status",
        "CampaignStateEnum": "weibao.inspections.selectors.CampaignState",
        "HazardLevelEnum": "weibao.hazards.choices.HazardLevel",
        "HazardStatusEnum": "weibao.hazards.models.HazardStatus",
        "EnterpriseStatusEnum": "weibao.registry.models.Enterprise.Status",
        "HazardActionEnum": "weibao.hazards.serializers.ACTION_CHOICES",
        "HazardCategoryEnum": "weibao.hazards.choices.HazardCategory",
        "HazardSourceEnum": "weibao.hazards.models.Hazard.Source",
        "HazardEventActionEnum": "weibao.hazards.models.HazardEvent.Action",
        "HazardAttachmentStageEnum": "weibao.hazards.models.HazardAttachment.Stage",
        "HazardAttachmentKindEnum": "weibao.hazards.models.HazardAttachment.Kind",
        "CaseStatusEnum": "weibao.enforcement.models.CaseStatus",
        "CaseOriginEnum": "weibao.enforcement.models.Case.Origin",
        "CaseActionEnum": "weibao.enforcement.serializers.ACTION_CHOICES",
        "CaseDeadlineStateEnum": "weibao.enforcement.filters.DEADLINE_STATES",
        "CaseEventActionEnum": "weibao.enforcement.models.CaseEvent.Action",
        "CaseDocumentKindEnum": "weibao.enforcement.models.CaseDocument.Kind",
        "CaseUploadKindEnum": "weibao.enforcement.serializers.UPLOAD_KINDS",
        "CaseReviewGradeEnum": "weibao.enforcement.models.CaseReview.Grade",
        "PenaltyKindEnum": "weibao.enforcement.models.PenaltyKind",
        "PermitStatusEnum": "weibao.registry.models.Permit.Status",
        "ReportCategoryEnum": "weibao.reporting.models.ReportCategory",
        "ReportStatusEnum": "weibao.reporting.models.ReportStatus",
        "ReportViaEnum": "weibao.reporting.models.InternalReport.Via",
        "ReportEventActionEnum": "weibao.reporting.models.ReportEvent.Action",
        "ReportActionEnum": "weibao.reporting.serializers.ACTION_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "weibao.core.api.schema.add_problem_responses",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- background tasks ---------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "weibao.core.logging.RequestIdFilter"},
        "redact_receipts": {"()": "weibao.core.logging.RedactReceiptsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "redact_receipts"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint reports every layout step at INFO: noise in jobs, demo loads and logs.
        "weasyprint.progress": {"level": "WARNING"},
    },
}
