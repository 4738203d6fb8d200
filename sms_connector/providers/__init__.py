from .base import (
    FAILED,
    RETRY,
    SENT,
    STATUS_RANK,
    UNKNOWN,
    Balance,
    GatewayConfig,
    InboundSms,
    MalformedCallback,
    OutboundSms,
    ProviderError,
    SendResult,
    SmsProvider,
    StatusReport,
)
from .registry import get_provider_class, provider_codes, register_provider
