"""A Django email backend that stores mail in the sandbox mail inbox (`/sandbox/mail/`).

Selected when EMAIL_HOST is empty (the demo): every email leadgate would send can be
read there, and nothing leaves the machine. Capped like the sandbox CRM inbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives
from django.db import transaction

from profiling.capped import keep_newest
from profiling.models import SandboxEmail

KEPT_EMAILS = 500
KEPT_HEADERS = ("message-id", "list-unsubscribe", "list-unsubscribe-post", "reply-to")


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = str(message.body)
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        for alternative in message.alternatives:
            content, mimetype = alternative[0], alternative[1]
            if mimetype == "text/html":
                if isinstance(content, bytes):
                    html = content.decode("utf-8", "replace")
                elif isinstance(content, str):
                    html = content
    return text, html


def sandbox_email_store(*, message: EmailMessage) -> SandboxEmail:
    """Store one message and drop all but the newest KEPT_EMAILS, together."""
    mime = message.message()
    headers = {k.lower(): str(v)[:1000] for k, v in mime.items() if k.lower() in KEPT_HEADERS}
    text, html = _parts(message)
    with transaction.atomic():
        stored = SandboxEmail.objects.create(
            from_email=str(message.from_email)[:300],
            to=[str(a) for a in message.recipients()],
            subject=str(message.subject)[:300],
            headers=headers,
            text=text,
            html=html,
        )
        keep_newest(SandboxEmail, KEPT_EMAILS)
    return stored


class SandboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            sandbox_email_store(message=message)
            sent += 1
        return sent
