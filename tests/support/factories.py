"""Small factories for test data, written straight through the ORM.

Random slugs and emails keep tests independent of each other and of run order. Every
factory takes keyword overrides for any model field it sets.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.roles import MARKETER
from forms_app.models import FormField, Gate, GateFile, Section, Stage
from profiling.models import (
    Event,
    EventType,
    Lead,
    ScoringRule,
    ScoringSettings,
    Visitor,
    WebhookEndpoint,
)

DEFAULT_ORIGIN = "https://www.example-fibre.com"


def random_slug(prefix: str = "gate") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def random_email(domain: str = "example-fibre.com") -> str:
    return f"person-{secrets.token_hex(4)}@{domain}"


@dataclass(frozen=True)
class Marketer:
    user: Any
    token: str

    @property
    def auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


def make_user(*, username: str | None = None, is_staff: bool = True, **extra: Any) -> Any:
    user_model = get_user_model()
    username = username or f"marketer-{secrets.token_hex(4)}"
    user: AbstractBaseUser = user_model.objects.create_user(
        username=username,
        email=f"{username}@leadgate.test",
        password=secrets.token_urlsafe(16),
        is_staff=is_staff,
        **extra,
    )
    return user


def add_role(user: Any, role: str) -> Any:
    """Put `user` in the role's group ("marketer" or "sales", config/roles.py). The group
    is made if missing: transactional tests flush the one the migration made."""
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_marketer(**user_fields: Any) -> Marketer:
    """A user in the marketer group (not staff) with a DRF API token."""
    user_fields.setdefault("is_staff", False)
    user = add_role(make_user(**user_fields), MARKETER)
    token, _ = Token.objects.get_or_create(user=user)
    return Marketer(user=user, token=token.key)


def make_gate(
    *,
    slug: str | None = None,
    stage: str = Stage.INTEREST,
    sections: int | Sequence[str] = 6,
    files: Sequence[str] = ("network-map",),
    questions: Sequence[tuple[str, str]] = (),
    allowed_origins: Sequence[str] = (DEFAULT_ORIGIN,),
    **fields: Any,
) -> Gate:
    """A gate with `sections` (a count or explicit keys), `files` (keys, each with a URL)
    and, for decision gates, custom `questions` as (name, label) pairs."""
    slug = slug or random_slug()
    gate = Gate.objects.create(
        slug=slug,
        title=fields.pop("title", f"Guide {slug}"),
        stage=stage,
        allowed_origins=list(allowed_origins),
        **fields,
    )
    keys = [f"section-{i + 1}" for i in range(sections)] if isinstance(sections, int) else sections
    for position, key in enumerate(keys):
        Section.objects.create(
            gate=gate, key=key, title=key.replace("-", " ").title(), position=position
        )
    for position, key in enumerate(files):
        GateFile.objects.create(
            gate=gate,
            key=key,
            title=key.replace("-", " ").title(),
            url=f"https://files.example-fibre.com/{key}.pdf",
            position=position,
        )
    for position, (name, label) in enumerate(questions):
        FormField.objects.create(gate=gate, name=name, label=label, position=position)
    return gate


def make_rule(
    *,
    event_type: str = EventType.SECTION_VIEW,
    gate: Gate | None = None,
    points: int = 10,
    **fields: Any,
) -> ScoringRule:
    name = fields.pop("name", f"{event_type} rule {secrets.token_hex(2)}")
    return ScoringRule.objects.create(
        name=name, event_type=event_type, gate=gate, points=points, **fields
    )


def set_thresholds(*, warm: int = 30, hot: int = 80, half_life_days: int = 0) -> ScoringSettings:
    row, _ = ScoringSettings.objects.update_or_create(
        pk=1,
        defaults={"warm_threshold": warm, "hot_threshold": hot, "half_life_days": half_life_days},
    )
    return row


def make_endpoint(*, url: str, grades: Sequence[str] = ("hot",), **fields: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=url, grades=list(grades), **fields)


def make_lead(*, email: str | None = None, name: str = "Ada Lovelace", **fields: Any) -> Lead:
    email = (email or random_email()).strip().lower()
    return Lead.objects.create(
        email=email,
        name=name,
        company_domain=fields.pop("company_domain", email.rsplit("@", 1)[-1]),
        **fields,
    )


def make_visitor(*, lead: Lead | None = None, visitor_id: uuid.UUID | None = None) -> Visitor:
    return Visitor.objects.create(id=visitor_id or uuid.uuid4(), lead=lead)


def make_event(
    *,
    visitor: Visitor,
    type: str = EventType.SECTION_VIEW,
    gate: Gate | None = None,
    section_key: str = "",
    file_key: str = "",
    duration_ms: int | None = None,
    occurred_at: datetime | None = None,
    **fields: Any,
) -> Event:
    now = timezone.now()
    return Event.objects.create(
        id=fields.pop("id", uuid.uuid4()),
        visitor=visitor,
        lead=fields.pop("lead", visitor.lead),
        type=type,
        gate=gate,
        section_key=section_key,
        file_key=file_key,
        duration_ms=duration_ms,
        occurred_at=occurred_at or now,
        received_at=fields.pop("received_at", now),
        **fields,
    )
