"""Visitors, leads, events, scoring configuration, CRM delivery and email.

Builds on the content catalog (`forms_app.models`); never imports forms_app's capture code.
One module per concern; everything is importable from `profiling.models`.
"""

from profiling.models.delivery import (
    Delivery,
    DeliveryStatus,
    SandboxMessage,
    WebhookEndpoint,
    make_webhook_secret,
)
from profiling.models.email import EmailKind, EmailStatus, OutboundEmail, SandboxEmail
from profiling.models.events import (
    Event,
    EventReceipt,
    EventType,
    ScorePending,
    Source,
    make_write_key,
)
from profiling.models.people import (
    GRADE_RANK,
    Consent,
    ConsentMethod,
    Grade,
    IdentityProof,
    Lead,
    Visitor,
)
from profiling.models.rollups import (
    DailyGateStats,
    DailyLeadStats,
    DailyTimingStats,
    RollupDirtyDay,
    RollupState,
)
from profiling.models.scoring import (
    RULE_TYPE_CHOICES,
    RULE_TYPE_PROFILE,
    GradeChange,
    ProfileCondition,
    ScoringRule,
    ScoringSettings,
)

__all__ = [
    "GRADE_RANK",
    "RULE_TYPE_CHOICES",
    "RULE_TYPE_PROFILE",
    "Consent",
    "ConsentMethod",
    "DailyGateStats",
    "DailyLeadStats",
    "DailyTimingStats",
    "Delivery",
    "DeliveryStatus",
    "EmailKind",
    "EmailStatus",
    "Event",
    "EventReceipt",
    "EventType",
    "Grade",
    "GradeChange",
    "IdentityProof",
    "Lead",
    "OutboundEmail",
    "ProfileCondition",
    "RollupDirtyDay",
    "RollupState",
    "SandboxEmail",
    "SandboxMessage",
    "ScorePending",
    "ScoringRule",
    "ScoringSettings",
    "Source",
    "Visitor",
    "WebhookEndpoint",
    "make_webhook_secret",
    "make_write_key",
]
