"""The sandbox CRM inbox: stores what arrives and verifies Standard Webhooks signatures."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from profiling import sandbox
from profiling.models import SandboxMessage, WebhookEndpoint, make_webhook_secret
from profiling.sandbox import MAX_BODY_BYTES, VerificationError, signature_verify
from profiling.services.delivery import sign

pytestmark = pytest.mark.django_db

INBOX = "/sandbox/crm/"


def _payload(**data: Any) -> bytes:
    body: dict[str, Any] = {
        "type": "lead.grade_changed",
        "timestamp": "2025-01-01T00:00:00+00:00",
        "data": {
            "lead": {"id": "x", "name": "Ada Lovelace", "email": "ada@example-fibre.com"},
            "grade": "hot",
            "previous_grade": "warm",
            "score": 85,
            "reasons": ["downloaded network-map", "read 4 of 6 sections of network-vbook"],
        },
    }
    body["data"].update(data)
    return json.dumps(body, separators=(",", ":")).encode()


def _headers(secret: str, body: bytes, *, msg_id: str = "msg_abc", ts: int | None = None) -> dict:
    ts = int(time.time()) if ts is None else ts
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(ts),
        "HTTP_WEBHOOK_SIGNATURE": sign(secret=secret, msg_id=msg_id, timestamp=ts, body=body),
    }


@pytest.fixture(autouse=True)
def _sandbox_on(settings: Any) -> None:
    settings.LEADGATE_SANDBOX = True


@pytest.fixture
def endpoint() -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url="http://testserver/sandbox/crm/", grades=["warm", "hot"]
    )


@pytest.fixture
def staff_client(client: Any) -> Any:
    user = get_user_model().objects.create_user(
        username=f"staff-{secrets.token_hex(3)}",
        password="pw-" + secrets.token_hex(8),
        is_staff=True,
    )
    client.force_login(user)
    return client


def test_signed_post_is_stored_as_valid(client: Any, endpoint: WebhookEndpoint) -> None:
    body = _payload()
    response = client.post(
        INBOX, body, content_type="application/json", **_headers(endpoint.secret, body)
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    message = SandboxMessage.objects.get()
    assert message.signature_valid is True
    assert message.verification_error == ""
    assert message.webhook_id == "msg_abc"
    assert message.endpoint_id == endpoint.id
    assert message.body == body.decode()
    assert message.headers["content-type"] == "application/json"
    assert set(message.headers) == {
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }


def test_tampered_body_is_stored_as_invalid(client: Any, endpoint: WebhookEndpoint) -> None:
    body = _payload()
    headers = _headers(endpoint.secret, body)
    tampered = _payload(grade="cold")
    response = client.post(INBOX, tampered, content_type="application/json", **headers)
    assert response.status_code == 200
    message = SandboxMessage.objects.get()
    assert message.signature_valid is False
    assert "signature" in message.verification_error


def test_stale_timestamp_wrong_secret_and_missing_headers_are_invalid(
    client: Any, endpoint: WebhookEndpoint
) -> None:
    body = _payload()
    client.post(
        INBOX,
        body,
        content_type="application/json",
        **_headers(endpoint.secret, body, ts=int(time.time()) - 600),
    )
    client.post(
        INBOX, body, content_type="application/json", **_headers(make_webhook_secret(), body)
    )
    client.post(INBOX, body, content_type="application/json")
    messages = list(SandboxMessage.objects.order_by("received_at", "id"))
    assert [m.signature_valid for m in messages] == [False, False, False]
    assert "five minutes" in messages[0].verification_error
    assert "No v1 signature" in messages[1].verification_error
    assert "Missing" in messages[2].verification_error


def test_endpoint_found_by_path_when_host_differs(client: Any) -> None:
    other = WebhookEndpoint.objects.create(url="https://elsewhere.example/hook", grades=["hot"])
    mine = WebhookEndpoint.objects.create(url="http://127.0.0.1:8000/sandbox/crm/", grades=["hot"])
    body = _payload()
    client.post(INBOX, body, content_type="application/json", **_headers(mine.secret, body))
    message = SandboxMessage.objects.get()
    assert message.signature_valid is True
    assert message.endpoint_id == mine.id != other.id


def test_no_endpoint_is_recorded_not_refused(client: Any) -> None:
    response = client.post(INBOX, b"{}", content_type="application/json")
    assert response.status_code == 200
    message = SandboxMessage.objects.get()
    assert message.signature_valid is False
    assert "No webhook endpoint" in message.verification_error


def test_oversize_body_is_413(client: Any, endpoint: WebhookEndpoint) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    response = client.post(INBOX, body, content_type="application/json")
    assert response.status_code == 413
    assert not SandboxMessage.objects.exists()


def test_verifier_agrees_with_the_reference_library(endpoint: WebhookEndpoint) -> None:
    body = _payload()
    ts = int(time.time())
    headers = {
        k.removeprefix("HTTP_").replace("_", "-").lower(): v
        for k, v in _headers(endpoint.secret, body, ts=ts).items()
    }
    signature_verify(secret=endpoint.secret, headers=headers, body=body)  # no exception
    Webhook(endpoint.secret).verify(body, headers)  # the reference verifier agrees
    headers["webhook-signature"] = "v1," + base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(VerificationError):
        signature_verify(secret=endpoint.secret, headers=headers, body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body, headers)
    # Several signatures (secret rotation): any matching v1 one is enough.
    good = sign(secret=endpoint.secret, msg_id="msg_abc", timestamp=ts, body=body)
    headers["webhook-signature"] = f"v1,bm9wZQ== {good}"
    signature_verify(secret=endpoint.secret, headers=headers, body=body)


def test_get_requires_staff_login(client: Any) -> None:
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "next=/sandbox/crm/" in response["Location"]
    user = get_user_model().objects.create_user(username="visitor", password="pw-12345678")
    client.force_login(user)
    assert client.get(INBOX).status_code == 302


def test_get_lists_messages_for_staff(
    client: Any, staff_client: Any, endpoint: WebhookEndpoint
) -> None:
    body = _payload()
    client.post(INBOX, body, content_type="application/json", **_headers(endpoint.secret, body))
    client.post(INBOX, b"not json <script>", content_type="text/plain")
    response = staff_client.get(INBOX)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta http-equiv="refresh" content="5">' in html
    assert "ada@example-fibre.com" in html
    assert "lg-grade-hot" in html
    assert "lg-grade-warm" in html
    assert "read 4 of 6 sections of network-vbook" in html
    assert "&#10003; valid" in html
    assert "&#10007; invalid" in html
    assert "<details>" in html
    assert "msg_abc" in html
    assert "not json &lt;script&gt;" in html  # raw bodies are escaped


def test_rotation_the_inbox_accepts_the_new_or_the_old_secret(
    client: Any, endpoint: WebhookEndpoint
) -> None:
    """After a rotation our requests carry two signatures; a CRM holding either secret
    verifies. The inbox behaves like both: it checks the current and the previous one."""
    from profiling.services.delivery import signature_header
    from profiling.services.endpoints import webhook_secret_retire_previous, webhook_secret_rotate

    old = endpoint.secret
    endpoint = webhook_secret_rotate(endpoint_id=endpoint.pk)
    new = endpoint.secret
    body = _payload()
    ts = int(time.time())
    for i, secrets_used in enumerate([(new, old), (old,), (new,)]):
        msg_id = f"msg_rot{i}"
        header = signature_header(secrets=secrets_used, msg_id=msg_id, timestamp=ts, body=body)
        client.post(
            INBOX,
            body,
            content_type="application/json",
            HTTP_WEBHOOK_ID=msg_id,
            HTTP_WEBHOOK_TIMESTAMP=str(ts),
            HTTP_WEBHOOK_SIGNATURE=header,
        )
    # both signatures in one header also pass the reference library, with either secret
    both = signature_header(secrets=(new, old), msg_id="msg_ref", timestamp=ts, body=body)
    ref_headers = {"webhook-id": "msg_ref", "webhook-timestamp": str(ts)}
    ref_headers["webhook-signature"] = both
    Webhook(old).verify(body, ref_headers)
    Webhook(new).verify(body, ref_headers)

    webhook_secret_retire_previous(endpoint_id=endpoint.pk)
    header = signature_header(secrets=(old,), msg_id="msg_late", timestamp=ts, body=body)
    client.post(
        INBOX,
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_late",
        HTTP_WEBHOOK_TIMESTAMP=str(ts),
        HTTP_WEBHOOK_SIGNATURE=header,
    )
    verdicts = dict(SandboxMessage.objects.values_list("webhook_id", "signature_valid"))
    assert verdicts == {"msg_rot0": True, "msg_rot1": True, "msg_rot2": True, "msg_late": False}


@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_off_unless_asked_for(client: Any, staff_client: Any, settings: Any, method: str) -> None:
    settings.LEADGATE_SANDBOX = False
    for who in (client, staff_client):
        if method == "get":
            response = who.get(INBOX)
        else:
            response = getattr(who, method)(INBOX, b"{}", content_type="application/json")
        assert response.status_code == 404
    assert not SandboxMessage.objects.exists()


def test_keeps_only_the_newest_messages(
    client: Any, endpoint: WebhookEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "KEPT_MESSAGES", 3)
    for n in range(5):
        body = _payload(score=n)
        headers = _headers(endpoint.secret, body, msg_id=f"msg_{n}")
        assert client.post(INBOX, body, content_type="application/json", **headers).status_code
    kept = SandboxMessage.objects.order_by("id").values_list("webhook_id", flat=True)
    assert list(kept) == ["msg_2", "msg_3", "msg_4"]
