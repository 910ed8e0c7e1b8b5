"""The email a visitor gets after a submission: the link to the content they asked for."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from forms_app.models import Gate
from profiling.models import EmailKind
from profiling.services.mail import email_queue, unsubscribe_headers
from profiling.services.mail.unsubscribe import unsubscribe_url

log = logging.getLogger(__name__)


def content_url_for(*, gate: Gate, access_token: str, base: str) -> str:
    """The link the 201 answer gives: the hosted content, opened by its access token."""
    return f"{base}/g/{gate.slug}?t={access_token}"


def content_email_queue(
    *, gate: Gate, lead_id: uuid.UUID, to: str, name: str, access_token: str, base: str
) -> bool:
    """Queue the content-link email in the caller's transaction; False if none is due.

    Nothing is sent here (the outbox's task sends it after commit), so a mail server
    that is down or slow never fails or slows the submission.
    """
    if not gate.email_content:
        return False
    base = (base or settings.LEADGATE_BASE_URL).rstrip("/")
    if not base:
        # No request and no LEADGATE_BASE_URL: a link without a host would be useless.
        log.warning("no base URL for gate %s: content email not queued", gate.slug)
        return False
    context = {
        "gate": gate,
        "name": name,
        "content_url": content_url_for(gate=gate, access_token=access_token, base=base),
        "unsubscribe_url": unsubscribe_url(lead_id=lead_id, base=base),
        "site": base,
    }
    with translation.override(gate.language):
        text = render_to_string("forms_app/email/content_link.txt", context)
        html = render_to_string("forms_app/email/content_link.html", context)
    email_queue(
        kind=EmailKind.CONTENT_LINK,
        lead_id=lead_id,
        to=to,
        subject=gate.title,
        text=text,
        html=html,
        headers=unsubscribe_headers(lead_id=lead_id, base=base),
        language=gate.language,
    )
    return True
