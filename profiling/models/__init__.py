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
from profiling.models.events import Event, EventType, ScorePending, Source, make_write_key
from profiling.models.people import (
    GRADE_RANK,
    Consent,
    ConsentMethod,
    Grade,
    IdentityProof,
    Lead,
    Visitor,
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
    "Delivery",
    "DeliveryStatus",
    "EmailKind",
    "EmailStatus",
    "Event",
    "EventType",
    "Grade",
    "GradeChange",
    "IdentityProof",
    "Lead",
    "OutboundEmail",
    "ProfileCondition",
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
