"""Configuration classes. Values are overridden from FLASK_* environment variables."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


class Config:
    SECRET_KEY = "dev-only-change-me"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{BASE_DIR / 'instance' / 'portal.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # SQLite: how long a writer waits for another writer's lock before the request answers 409.
    SQLITE_BUSY_TIMEOUT_MS = 15_000
    # PostgreSQL (psycopg): a statement run this many times on a connection is prepared on the server, searches
    # never (app.no_generic_plans). FLASK_PG_PREPARE_THRESHOLD=null turns it off (PgBouncer before 1.21).
    PG_PREPARE_THRESHOLD = 5
    # Links in email are built from this, never from the request's Host header.
    PUBLIC_URL = "http://127.0.0.1:5000"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_DEFAULT_SENDER = "Reseller Portal <no-reply@portal.example>"
    MAIL_SUPPRESS_SEND = False
    # Seconds the SMTP connect, and each command and send after it, may take before the try fails
    # (the mail stays in the outbox for the worker's next round). Requests never send mail.
    MAIL_TIMEOUT = 10
    # Print outbox mail on the console (development: no SMTP server needed).
    MAIL_CONSOLE = False
    WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
    # A first-party session ends after this long without a request, and this long after log-in at
    # the latest (FLASK_SESSION_IDLE_SECONDS, FLASK_SESSION_MAX_SECONDS). See login_sessions.py.
    SESSION_IDLE_SECONDS = 8 * 3600
    SESSION_MAX_SECONDS = 14 * 24 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PAGE_SIZE = 25
    MAX_PAGE_SIZE = 100
    RATELIMIT_STORAGE_URI = "memory://"
    # Number of trusted proxies in front of the app (FLASK_PROXY_COUNT=1 behind one load balancer).
    PROXY_COUNT = 0
    RATELIMIT_LOGIN = "10 per minute"
    RATELIMIT_FORGOT = "5 per minute"
    RATELIMIT_HEADERS_ENABLED = True
    # Embed: previous secret accepted this long after a rotation.
    EMBED_SECRET_GRACE_SECONDS = 24 * 3600
    EMBED_TOKEN_MAX_SECONDS = 300
    EMBED_SESSION_SECONDS = 8 * 3600
    # Deleted objects stay in the Trash, restorable, this many days; `trash purge` removes older ones.
    TRASH_DAYS = 30
    TEMPLATES_STRICT = True
    # CSV import: the largest file accepted. A request may be a little larger (the confirm step carries
    # the file, signed, in base64); anything bigger is refused with 413 before it is read.
    IMPORT_MAX_BYTES = 2_000_000
    MAX_CONTENT_LENGTH = 4_000_000
    MAX_FORM_MEMORY_SIZE = 4_000_000


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    MAIL_SUPPRESS_SEND = True
    PUBLIC_URL = "http://portal.test"
    RATELIMIT_ENABLED = True
    RATELIMIT_LOGIN = "1000 per minute"
    RATELIMIT_FORGOT = "1000 per minute"
