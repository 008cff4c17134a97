"""Process settings, read once from environment variables.

Program settings that an admin changes at run time (earn rate, tiers...) live in the
database; these are the ones an operator sets when starting the process.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.protections.limits import QueryLimits
from api.setting_checks import origin_list, rate_limit, storage_uri
from domain.program import ProgramSettings
from persistence.database import DatabaseLimits

DEV_SECRET_KEY = "dev-secret-key-for-local-development-only"
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "placeholder", DEV_SECRET_KEY}
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./loyalty.db", validation_alias="DATABASE_URL"
    )
    loyalty_env: Literal["development", "production"] = Field(
        default="development", validation_alias="LOYALTY_ENV"
    )
    secret_key: str = Field(default=DEV_SECRET_KEY, validation_alias="LOYALTY_SECRET_KEY")
    default_timezone: str = Field(default="UTC", validation_alias="LOYALTY_TIMEZONE")
    default_currency: str = Field(default="CNY", validation_alias="LOYALTY_CURRENCY")
    phone_region: str | None = Field(default="CN", validation_alias="LOYALTY_PHONE_REGION")
    max_body_bytes: int = Field(default=1_000_000, validation_alias="LOYALTY_MAX_BODY_BYTES")
    max_query_cost: int = Field(default=50_000, ge=1, validation_alias="LOYALTY_MAX_QUERY_COST")
    max_query_depth: int = Field(default=10, ge=1, validation_alias="LOYALTY_MAX_QUERY_DEPTH")
    max_query_aliases: int = Field(default=30, ge=0, validation_alias="LOYALTY_MAX_QUERY_ALIASES")
    # Time limits (README "Time limits"): a PostgreSQL statement_timeout on the API's
    # own connections, a deadline for each GraphQL request, and a connection pool whose
    # wait ends before the deadline. 0 turns the statement timeout off.
    statement_timeout_ms: int = Field(
        default=5_000, ge=0, validation_alias="LOYALTY_STATEMENT_TIMEOUT_MS"
    )
    request_timeout_ms: int = Field(
        default=10_000, ge=1, validation_alias="LOYALTY_REQUEST_TIMEOUT_MS"
    )
    db_pool_size: int = Field(default=10, ge=1, validation_alias="LOYALTY_DB_POOL_SIZE")
    db_max_overflow: int = Field(default=20, ge=0, validation_alias="LOYALTY_DB_MAX_OVERFLOW")
    db_pool_timeout_s: float = Field(
        default=3.0, gt=0, validation_alias="LOYALTY_DB_POOL_TIMEOUT_S"
    )
    # The public edge (api/http/): browser origins, and rate limits in the `limits`
    # syntax ("600/minute", "10/second;600/hour") kept in memory or in Redis.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="LOYALTY_CORS_ORIGINS"
    )
    rate_limit_key: str = Field(default="1200/minute", validation_alias="LOYALTY_RATE_LIMIT_KEY")
    rate_limit_token: str = Field(default="300/minute", validation_alias="LOYALTY_RATE_LIMIT_TOKEN")
    rate_limit_anonymous: str = Field(
        default="60/minute", validation_alias="LOYALTY_RATE_LIMIT_ANONYMOUS"
    )
    rate_limit_auth_failures: str = Field(
        default="30/minute", validation_alias="LOYALTY_RATE_LIMIT_AUTH_FAILURES"
    )
    rate_limit_storage: str = Field(
        default="memory://", validation_alias="LOYALTY_RATE_LIMIT_STORAGE"
    )
    rate_limit_prefix: str = Field(default="loyalty", validation_alias="LOYALTY_RATE_LIMIT_PREFIX")
    # How long a process may keep using an API key it looked up (api/api_keys/cache.py):
    # the bound on seeing a revocation made by another process. 0 looks up every time.
    api_key_cache_seconds: float = Field(
        default=5.0, ge=0, le=60, validation_alias="LOYALTY_API_KEY_CACHE_SECONDS"
    )

    # The worker (`loyalty worker`, README "Webhooks"): each send's timeout, failures
    # before a delivery is DEAD, concurrent sends, how often an idle worker looks for
    # work, and how long a stopping worker lets its sends in flight finish.
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=60, validation_alias="LOYALTY_WEBHOOK_TIMEOUT_S"
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, le=30, validation_alias="LOYALTY_WEBHOOK_MAX_ATTEMPTS"
    )
    worker_concurrency: int = Field(
        default=16, ge=1, le=500, validation_alias="LOYALTY_WORKER_CONCURRENCY"
    )
    worker_poll_s: float = Field(default=1.0, gt=0, le=60, validation_alias="LOYALTY_WORKER_POLL_S")
    worker_shutdown_grace_s: float = Field(
        default=15.0, ge=0, le=300, validation_alias="LOYALTY_WORKER_SHUTDOWN_GRACE_S"
    )

    # Import jobs (`importCreate`, docs/import.md "Import jobs"): where uploaded files
    # and their error files are kept, the largest upload (a multipart request to
    # /graphql; other requests keep LOYALTY_MAX_BODY_BYTES) and its deadline (other
    # requests keep LOYALTY_REQUEST_TIMEOUT_MS), and how long a worker's
    # claim on a job lasts without progress before another worker takes it over.
    import_dir: str = Field(default="./data/imports", validation_alias="LOYALTY_IMPORT_DIR")
    import_max_upload_bytes: int = Field(
        default=100_000_000, ge=1, validation_alias="LOYALTY_IMPORT_MAX_UPLOAD_BYTES"
    )
    import_upload_timeout_s: float = Field(
        default=600.0, gt=0, le=3600, validation_alias="LOYALTY_IMPORT_UPLOAD_TIMEOUT_S"
    )
    import_lease_s: float = Field(
        default=300.0, gt=0, le=86_400, validation_alias="LOYALTY_IMPORT_LEASE_S"
    )

    # Messaging (docs/messaging.md, README "Messaging: which settings make it real"):
    # each channel is on when its credentials are set; base URLs are settings so the
    # tests point them at local servers.
    public_url: str = Field(default="http://127.0.0.1:8000", validation_alias="LOYALTY_PUBLIC_URL")
    message_timeout_s: float = Field(
        default=10.0, gt=0, le=60, validation_alias="LOYALTY_MESSAGE_TIMEOUT_S"
    )
    smtp_host: str = Field(default="", validation_alias="LOYALTY_SMTP_HOST")
    smtp_port: int = Field(default=587, ge=1, le=65535, validation_alias="LOYALTY_SMTP_PORT")
    smtp_username: str = Field(default="", validation_alias="LOYALTY_SMTP_USERNAME")
    smtp_password: str = Field(default="", validation_alias="LOYALTY_SMTP_PASSWORD")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", validation_alias="LOYALTY_SMTP_SECURITY"
    )
    mail_from: str = Field(default="", validation_alias="LOYALTY_MAIL_FROM")
    mail_from_name: str = Field(default="", validation_alias="LOYALTY_MAIL_FROM_NAME")
    wechat_base_url: str = Field(
        default="https://api.weixin.qq.com", validation_alias="LOYALTY_WECHAT_BASE_URL"
    )
    wechat_app_id: str = Field(default="", validation_alias="LOYALTY_WECHAT_APP_ID")
    wechat_app_secret: str = Field(default="", validation_alias="LOYALTY_WECHAT_APP_SECRET")
    wechat_state: Literal["formal", "trial", "developer"] = Field(
        default="formal", validation_alias="LOYALTY_WECHAT_MINIPROGRAM_STATE"
    )
    tencent_sms_endpoint: str = Field(
        default="https://sms.tencentcloudapi.com", validation_alias="LOYALTY_TENCENT_SMS_ENDPOINT"
    )
    tencent_secret_id: str = Field(default="", validation_alias="LOYALTY_TENCENT_SECRET_ID")
    tencent_secret_key: str = Field(default="", validation_alias="LOYALTY_TENCENT_SECRET_KEY")
    tencent_sms_region: str = Field(
        default="ap-guangzhou", validation_alias="LOYALTY_TENCENT_SMS_REGION"
    )
    tencent_sms_app_id: str = Field(default="", validation_alias="LOYALTY_TENCENT_SMS_APP_ID")
    tencent_sms_sign_name: str = Field(default="", validation_alias="LOYALTY_TENCENT_SMS_SIGN_NAME")
    sms_receipt_token: str = Field(default="", validation_alias="LOYALTY_SMS_RECEIPT_TOKEN")
    message_webhook_url: str = Field(default="", validation_alias="LOYALTY_MESSAGE_WEBHOOK_URL")
    message_webhook_secret: str = Field(
        default="", validation_alias="LOYALTY_MESSAGE_WEBHOOK_SECRET"
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: object) -> object:
        return origin_list(value)

    @field_validator(
        "rate_limit_key", "rate_limit_token", "rate_limit_anonymous", "rate_limit_auth_failures"
    )
    @classmethod
    def _rate_limit(cls, value: str, info: ValidationInfo) -> str:
        return rate_limit(value, f"LOYALTY_{(info.field_name or '').upper()}")

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        return storage_uri(value)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"LOYALTY_TIMEZONE: unknown time zone {value!r}") from exc
        return value

    @field_validator("default_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("LOYALTY_CURRENCY must be a three-letter ISO 4217 code")
        return value.upper()

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        secret = self.secret_key.strip()
        if self.is_production and (
            secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                "LOYALTY_SECRET_KEY must be set to a real secret of at least "
                f"{MIN_SECRET_LENGTH} characters when LOYALTY_ENV=production"
            )
        return self

    @model_validator(mode="after")
    def _waits_end_before_the_deadline(self) -> Settings:
        """A wait for a connection or a statement longer than the request deadline
        would only hold resources for an answer nobody receives."""
        if self.db_pool_timeout_s * 1000 >= self.request_timeout_ms:
            raise ValueError(
                "LOYALTY_DB_POOL_TIMEOUT_S must be shorter than LOYALTY_REQUEST_TIMEOUT_MS"
            )
        if self.statement_timeout_ms >= self.request_timeout_ms:
            raise ValueError(
                "LOYALTY_STATEMENT_TIMEOUT_MS must be shorter than LOYALTY_REQUEST_TIMEOUT_MS"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.loyalty_env == "production"

    def query_limits(self) -> QueryLimits:
        """The GraphQL shape and cost limits (see api/protections/)."""
        return QueryLimits(
            max_depth=self.max_query_depth,
            max_aliases=self.max_query_aliases,
            max_cost=self.max_query_cost,
        )

    def database_limits(self) -> DatabaseLimits:
        """The pool and statement limits of the API's own database connections."""
        return DatabaseLimits(
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout_s=self.db_pool_timeout_s,
            statement_timeout_ms=self.statement_timeout_ms or None,
        )

    def program_defaults(self) -> ProgramSettings:
        """Program settings before an admin has changed any."""
        return ProgramSettings(currency=self.default_currency, timezone=self.default_timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
