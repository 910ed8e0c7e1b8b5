"""CRM delivery: Standard Webhooks signatures, retries, 410, Retry-After, SSRF guard.

The CRM is a real HTTP server on 127.0.0.1 (a ThreadingHTTPServer in a thread); httpx is
never mocked. Signatures are checked with the unmodified `standardwebhooks` library.
"""

from __future__ import annotations

import json
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from profiling.models import Delivery, DeliveryStatus, GradeChange, WebhookEndpoint
from profiling.services.delivery import (
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    UnsafeWebhookUrl,
    deliveries_create_for_change,
    deliveries_due,
    delivery_attempt,
    delivery_redeliver,
    payload_for,
    sign,
    webhook_url_check,
)
from profiling.services.delivery import attempt as attempt_module
from tests.support.factories import make_endpoint, make_lead
from tests.support.net import free_port

pytestmark = pytest.mark.django_db


# --- a scriptable CRM -------------------------------------------------------------------


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes


@dataclass
class Crm:
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    url: str = ""
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *answers: int | tuple[int, dict[str, str]]) -> None:
        with self.lock:
            self.answers = [a if isinstance(a, tuple) else (a, {}) for a in answers]

    def next_answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.answers.pop(0) if self.answers else (200, {})


@pytest.fixture
def crm() -> Iterator[Crm]:
    state = Crm()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with state.lock:
                state.hits.append(Hit({k.lower(): v for k, v in self.headers.items()}, body))
            status, headers = state.next_answer()
            if state.delay_s:
                import time

                time.sleep(state.delay_s)
            answer = b'{"ok": true}'
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # a client that gave up (timeout tests) is not an error here

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/leadgate"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _allow_private(settings) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _delivery(url: str, *, grades=("hot",), **endpoint_fields) -> Delivery:
    endpoint = make_endpoint(url=url, grades=grades, **endpoint_fields)
    lead = make_lead(name="Ada", utm_source="linkedin")
    change = GradeChange.objects.create(
        lead=lead,
        previous_grade="warm",
        grade="hot",
        score=85,
        reasons=["downloaded network-map"],
        triggered_at=timezone.now(),
    )
    created = deliveries_create_for_change(change=change, lead=lead)
    assert endpoint.id in {d.endpoint_id for d in created}
    return Delivery.objects.get(grade_change=change, endpoint=endpoint)


def _due(delivery: Delivery) -> Any:
    """The time at which the delivery is next due."""
    delivery.refresh_from_db()
    return delivery.next_attempt_at


# --- signing ---------------------------------------------------------------------------


def test_signature_verifies_with_standardwebhooks(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    assert len(crm.hits) == 1
    hit = crm.hits[0]
    secret = delivery.endpoint.secret
    payload = Webhook(secret).verify(hit.body, hit.headers)
    assert payload["type"] == "lead.grade_changed"
    data = payload["data"]
    assert data["grade"] == "hot"
    assert data["previous_grade"] == "warm"
    assert data["score"] == 85
    assert data["reasons"] == ["downloaded network-map"]
    assert data["lead"]["id"] == str(delivery.lead_id)
    assert data["lead"]["name"] == "Ada"
    assert data["source"]["utm_source"] == "linkedin"
    assert hit.headers["webhook-id"] == f"msg_{delivery.id.hex}"
    assert hit.headers["content-type"] == "application/json"
    # a tampered body or another secret does not verify
    with pytest.raises(Exception):  # noqa: B017, PT011
        Webhook(secret).verify(hit.body.replace(b"85", b"99"), hit.headers)
    other = WebhookEndpoint().secret
    with pytest.raises(Exception):  # noqa: B017, PT011
        Webhook(other).verify(hit.body, hit.headers)


def test_sign_matches_the_reference_implementation() -> None:
    secret = WebhookEndpoint().secret
    body = b'{"a":1}'
    ours = sign(secret=secret, msg_id="msg_1", timestamp=1700000000, body=body)
    from datetime import UTC, datetime

    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1700000000, tz=UTC), '{"a":1}')
    assert ours == reference


def test_payload_for_has_the_contract_fields() -> None:
    lead = make_lead(name="Ada", subscribed=True, referrer="https://ref.example.com/")
    change = GradeChange.objects.create(
        lead=lead, previous_grade="cold", grade="warm", score=40, reasons=["r"]
    )
    payload = payload_for(change=change, lead=lead)
    assert payload["type"] == "lead.grade_changed"
    assert payload["timestamp"]
    data = payload["data"]
    assert set(data) >= {"lead", "grade", "previous_grade", "score", "reasons", "source"}
    assert data["lead"] | {"company_domain": None} == {
        "id": str(lead.id),
        "name": "Ada",
        "email": lead.email,
        "subscribed": True,
        "email_verified": False,
        "company_domain": None,
    }
    assert data["source"]["referrer"] == "https://ref.example.com/"
    # Once the person confirmed from the email, the CRM is told the address is theirs.
    lead.email_verified_at = timezone.now()
    assert payload_for(change=change, lead=lead)["data"]["lead"]["email_verified"] is True


# --- retries ----------------------------------------------------------------------------


def test_500_then_200_retries_with_the_same_id_and_a_fresh_timestamp(crm: Crm, monkeypatch) -> None:
    crm.answer(500, 200)
    delivery = _delivery(crm.url)
    before = timezone.now()
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert delivery.last_response_body == '{"ok": true}'
    first_delay = RETRY_SCHEDULE[0]
    assert delivery.next_attempt_at is not None
    assert before + first_delay * 0.9 <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= timezone.now() + first_delay * 1.1

    # not due yet: nothing happens
    assert delivery_attempt(delivery_id=delivery.id) == "not-due"
    assert len(crm.hits) == 1

    # the retry, two minutes later by the signer's clock
    import time as real_time

    later = real_time.time() + 120
    monkeypatch.setattr(
        attempt_module,
        "time",
        types.SimpleNamespace(time=lambda: later, monotonic=real_time.monotonic),
    )
    assert delivery_attempt(delivery_id=delivery.id, now=delivery.next_attempt_at) == "succeeded"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None

    first, second = crm.hits
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert int(second.headers["webhook-timestamp"]) == int(later)
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert first.body == second.body
    for hit in (first, second):
        Webhook(delivery.endpoint.secret).verify(hit.body, hit.headers)


def test_already_succeeded_delivery_is_not_sent_again(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    later = timezone.now() + timedelta(days=2)
    assert delivery_attempt(delivery_id=delivery.id, now=later) == "not-due"
    assert len(crm.hits) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_not_due_delivery_does_nothing(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=10)
    )
    assert delivery_attempt(delivery_id=delivery.id) == "not-due"
    assert crm.hits == []
    delivery.refresh_from_db()
    assert delivery.attempts == 0
    assert delivery.last_attempt_at is None


def test_410_disables_the_endpoint(crm: Crm) -> None:
    crm.answer(410)
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "gone"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert endpoint.is_active is False
    assert "410" in endpoint.disabled_reason
    # further deliveries to it are skipped without a request
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    assert delivery_attempt(delivery_id=delivery.id) == "skipped"
    assert len(crm.hits) == 1
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SKIPPED


def test_inactive_endpoint_gets_no_new_deliveries(crm: Crm) -> None:
    make_endpoint(url=crm.url, grades=["hot"], is_active=False)
    lead = make_lead()
    change = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    assert deliveries_create_for_change(change=change, lead=lead) == []


def test_retry_after_is_honoured(crm: Crm) -> None:
    crm.answer((503, {"Retry-After": "3600"}))
    delivery = _delivery(crm.url)
    start = timezone.now()
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    due = _due(delivery)
    assert due >= start + timedelta(seconds=3600)
    assert due <= timezone.now() + timedelta(seconds=3601)


def test_retry_after_never_shortens_the_backoff(crm: Crm) -> None:
    crm.answer((429, {"Retry-After": "0"}))
    delivery = _delivery(crm.url)
    start = timezone.now()
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    assert _due(delivery) >= start + RETRY_SCHEDULE[0] * 0.9


def test_garbage_retry_after_is_ignored(crm: Crm) -> None:
    crm.answer((503, {"Retry-After": "soon"}))
    delivery = _delivery(crm.url)
    start = timezone.now()
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    due = _due(delivery)
    assert start + RETRY_SCHEDULE[0] * 0.9 <= due <= timezone.now() + RETRY_SCHEDULE[0] * 1.1


def test_redirects_are_not_followed(crm: Crm) -> None:
    crm.answer((302, {"Location": "http://169.254.169.254/latest/meta-data"}))
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_status_code == 302
    assert len(crm.hits) == 1


def test_connection_refused_is_retried_with_the_error_recorded() -> None:
    port = free_port()  # nothing listens on it any more
    delivery = _delivery(f"http://127.0.0.1:{port}/hook")
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert "ConnectError" in delivery.last_error
    assert delivery.status == DeliveryStatus.PENDING


def test_gives_up_after_the_last_attempt(crm: Crm) -> None:
    crm.answer(*([500] * MAX_ATTEMPTS))
    delivery = _delivery(crm.url)
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        now = _due(delivery) or timezone.now()
        outcomes.append(delivery_attempt(delivery_id=delivery.id, now=now))
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["gave-up"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_ATTEMPTS
    assert len({h.headers["webhook-id"] for h in crm.hits}) == 1


def test_retry_schedule_spans_at_least_24_hours() -> None:
    assert sum(RETRY_SCHEDULE, timedelta()) * 0.9 >= timedelta(hours=24)


def test_redeliver_sends_a_succeeded_delivery_again_with_the_same_id(
    crm: Crm, django_capture_on_commit_callbacks
) -> None:
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=delivery)
    assert len(crm.hits) == 2
    assert crm.hits[0].headers["webhook-id"] == crm.hits[1].headers["webhook-id"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 2


def test_deliveries_due_lists_only_pending_due_rows(crm: Crm) -> None:
    due = _delivery(crm.url)
    later = _delivery(crm.url)
    done = _delivery(crm.url)
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    Delivery.objects.filter(pk=done.pk).update(status=DeliveryStatus.SUCCEEDED)
    listed = deliveries_due()
    assert str(due.pk) in listed
    assert str(later.pk) not in listed
    assert str(done.pk) not in listed
    assert deliveries_due(now=timezone.now() + timedelta(hours=2)).count(str(later.pk)) == 1


def test_created_deliveries_are_sent_after_commit(
    crm: Crm, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _delivery(crm.url)
    assert len(crm.hits) == 1
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED


def test_do_not_contact_lead_gets_no_delivery(crm: Crm) -> None:
    make_endpoint(url=crm.url, grades=["hot"])
    lead = make_lead(do_not_contact=True)
    change = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    assert deliveries_create_for_change(change=change, lead=lead) == []
    assert not Delivery.objects.filter(lead=lead).exists()


def test_replayed_change_creates_no_second_delivery(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    change, lead = delivery.grade_change, delivery.lead
    assert change is not None
    assert lead is not None
    # Nothing inserted, so nothing returned (and nothing enqueued).
    assert deliveries_create_for_change(change=change, lead=lead) == []
    assert Delivery.objects.filter(grade_change=change).count() == 1


def test_deliveries_for_a_change_are_made_in_one_statement(
    crm: Crm, django_capture_on_commit_callbacks: Any
) -> None:
    """On the path of every grade change: the subscribed, active endpoints are picked
    and their rows inserted by one INSERT ... SELECT, each enqueued after commit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hot_only = make_endpoint(url=crm.url, grades=["hot"])
    both = make_endpoint(url=crm.url, grades=["warm", "hot"])
    make_endpoint(url=crm.url, grades=["warm"])
    make_endpoint(url=crm.url, grades=["hot"], is_active=False)
    lead = make_lead()
    change = _change(lead, "warm", "hot", triggered_at=timezone.now())
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        created = deliveries_create_for_change(change=change, lead=lead)
    assert len(queries.captured_queries) == 1
    assert sorted(d.endpoint_id for d in created) == [hot_only.id, both.id]
    assert len(callbacks) == 2
    for d in created:
        d.refresh_from_db()
        assert (d.status, d.attempts, d.lead_id, d.grade_change_id) == (
            DeliveryStatus.PENDING,
            0,
            lead.id,
            change.id,
        )
        assert d.event_type == "lead.grade_changed"
        assert d.payload == payload_for(change=change, lead=lead)
        assert d.next_attempt_at is not None
        assert d.triggered_at == change.triggered_at


# --- SSRF -------------------------------------------------------------------------------

PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8000/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.10/hook",
    "http://172.16.0.5/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost/hook",
    "http://localhost:6379/",
    "http://[::1]/hook",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",  # 127.0.0.1 as a decimal number
    "http://[::ffff:127.0.0.1]/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_targets_refused_without_the_setting(settings, url: str) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeWebhookUrl):
        webhook_url_check(url)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///nohost", "javascript:alert(1)"])
def test_non_http_urls_refused_even_with_the_setting(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        webhook_url_check(url)


def test_public_address_accepted(settings) -> None:
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    webhook_url_check("https://93.184.216.34/hook")  # a literal public address: no DNS


def test_private_targets_allowed_with_the_setting() -> None:
    webhook_url_check("http://127.0.0.1:9/hook")


def test_attempt_rechecks_the_address_at_send_time(crm: Crm, settings) -> None:
    # Created while allowed; the setting is off when the attempt runs (or DNS changed).
    delivery = _delivery(crm.url)
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    assert crm.hits == []
    delivery.refresh_from_db()
    assert "private" in delivery.last_error
    assert delivery.last_status_code is None


def test_response_excerpt_is_bounded(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    delivery_attempt(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert len(delivery.last_response_body) <= 500
    assert json.loads(delivery.last_response_body) == {"ok": True}


# --- ordering: a lead's deliveries to one endpoint arrive in order ----------------------


def _change(lead: Any, previous: str, grade: str, **fields: Any) -> GradeChange:
    return GradeChange.objects.create(
        lead=lead, previous_grade=previous, grade=grade, score=50, reasons=[], **fields
    )


def test_a_later_delivery_waits_for_the_earlier_one_of_the_same_lead(
    crm: Crm, django_capture_on_commit_callbacks
) -> None:
    endpoint = make_endpoint(url=crm.url, grades=["warm", "hot"])
    lead = make_lead()
    other_lead = make_lead()
    crm.answer(503)  # the first attempt of the warm push fails
    warm_change = _change(lead, "cold", "warm")
    (warm,) = deliveries_create_for_change(change=warm_change, lead=lead)
    assert delivery_attempt(delivery_id=warm.id) == "retry"
    hot_change = _change(lead, "warm", "hot")
    (hot,) = deliveries_create_for_change(change=hot_change, lead=lead)
    other_change = _change(other_lead, "warm", "hot")
    (other,) = deliveries_create_for_change(change=other_change, lead=other_lead)

    # hot is due but must not overtake warm; another lead is not held up.
    assert delivery_attempt(delivery_id=hot.id) == "blocked"
    due = deliveries_due(now=timezone.now() + timedelta(minutes=1))
    assert str(hot.id) not in due
    assert str(warm.id) in due
    assert delivery_attempt(delivery_id=other.id) == "succeeded"
    assert Delivery.objects.get(pk=hot.id).attempts == 0

    # warm's retry succeeds, and hot is sent right after it (kicked, not left to the sweep)
    with django_capture_on_commit_callbacks(execute=True):
        when = Delivery.objects.get(pk=warm.id).next_attempt_at
        assert delivery_attempt(delivery_id=warm.id, now=when) == "succeeded"
    grades = [json.loads(h.body)["data"]["grade"] for h in crm.hits]
    leads = [json.loads(h.body)["data"]["lead"]["id"] for h in crm.hits]
    mine = [g for g, lead_id in zip(grades, leads, strict=True) if lead_id == str(lead.id)]
    assert mine == ["warm", "warm", "hot"]
    assert Delivery.objects.get(pk=hot.id).status == DeliveryStatus.SUCCEEDED
    assert endpoint.deliveries.filter(status=DeliveryStatus.PENDING).count() == 0


def test_a_failed_for_good_delivery_does_not_block_the_next_one(crm: Crm) -> None:
    make_endpoint(url=crm.url, grades=["warm", "hot"])
    lead = make_lead()
    (warm,) = deliveries_create_for_change(change=_change(lead, "cold", "warm"), lead=lead)
    (hot,) = deliveries_create_for_change(change=_change(lead, "warm", "hot"), lead=lead)
    Delivery.objects.filter(pk=warm.pk).update(status=DeliveryStatus.FAILED)
    assert delivery_attempt(delivery_id=hot.id) == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_make_one_row_and_one_post(crm: Crm) -> None:
    """Exactly one delivery per (grade change, endpoint) and one POST per attempt, with
    real concurrent database connections (threads), not a simulated interleaving."""
    from django.db import connection

    crm.answer(200)
    make_endpoint(url=crm.url)
    lead = make_lead()
    change = _change(lead, "warm", "hot")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            barrier.wait(5)
            deliveries_create_for_change(change=change, lead=lead)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    (delivery,) = Delivery.objects.filter(grade_change=change)
    # Only the creator enqueued it (on commit; tasks run eagerly here): one POST.
    assert len(crm.hits) == 1
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED

    # Now four workers get the same due delivery at once (duplicate broker messages,
    # a sweep racing the after-commit enqueue): one claims it, the others find nothing.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    crm.hits.clear()
    barrier = threading.Barrier(4)

    def attempt() -> None:
        try:
            barrier.wait(5)
            outcomes.append(delivery_attempt(delivery_id=delivery.id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert errors == []
    assert sorted(outcomes) == ["not-due"] * 3 + ["succeeded"]
    assert len(crm.hits) == 1
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1


def test_an_attempt_claims_and_loads_in_one_statement_before_the_post(
    crm: Crm, monkeypatch: Any
) -> None:
    """The hop to sales pays one database round trip before its POST: the claim (the
    conditional UPDATE) returns the delivery, its endpoint and the lead's consent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    delivery = _delivery(crm.url)
    endpoint = delivery.endpoint
    before_post: list[int] = []
    real_post = attempt_module._post

    def post(*args: Any, **kwargs: Any) -> Any:
        before_post.append(len(queries.captured_queries))
        return real_post(*args, **kwargs)

    monkeypatch.setattr(attempt_module, "_post", post)
    with CaptureQueriesContext(connection) as queries:
        assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    assert before_post == [1]
    assert queries.captured_queries[0]["sql"].startswith("UPDATE")
    # What it loaded is what the POST used: the endpoint's URL and (rotated) secrets.
    hit = crm.hits[0]
    assert Webhook(endpoint.secret).verify(hit.body, hit.headers)["data"]["score"] == 85
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)
    # A test event has no lead: loaded all the same, never refused for consent.
    from profiling.services.delivery import delivery_send_test

    sent = delivery_send_test(endpoint=endpoint)
    assert sent.status == DeliveryStatus.SUCCEEDED


# --- secret rotation --------------------------------------------------------------------


def test_rotation_signs_with_both_secrets_until_the_old_one_is_retired(crm: Crm) -> None:
    from standardwebhooks import WebhookVerificationError

    from profiling.services.endpoints import webhook_secret_retire_previous, webhook_secret_rotate

    delivery = _delivery(crm.url)
    old = delivery.endpoint.secret
    endpoint = webhook_secret_rotate(endpoint_id=delivery.endpoint_id)
    new = endpoint.secret
    assert new != old
    assert endpoint.previous_secret == old
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    hit = crm.hits[-1]
    assert len(hit.headers["webhook-signature"].split(" ")) == 2
    # A CRM that still has the old secret and one that has the new both verify.
    Webhook(old).verify(hit.body, hit.headers)
    Webhook(new).verify(hit.body, hit.headers)

    webhook_secret_retire_previous(endpoint_id=endpoint.pk)
    second = _delivery(crm.url)
    WebhookEndpoint.objects.filter(pk=second.endpoint_id).update(secret=new)
    assert delivery_attempt(delivery_id=second.id) == "succeeded"
    hit = crm.hits[-1]
    assert hit.headers["webhook-signature"].count("v1,") == 1
    Webhook(new).verify(hit.body, hit.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(hit.body, hit.headers)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).previous_secret == ""


def test_rotating_twice_keeps_only_the_last_two_secrets() -> None:
    from profiling.services.endpoints import webhook_secret_rotate

    endpoint = make_endpoint(url="https://93.184.216.34/hook")
    first = endpoint.secret
    second = webhook_secret_rotate(endpoint_id=endpoint.pk).secret
    third = webhook_secret_rotate(endpoint_id=endpoint.pk)
    assert (third.previous_secret, third.secret) == (second, third.secret)
    assert first not in {third.secret, third.previous_secret}


# --- endpoint health: failing for days is disabled; a 2xx resets the streak --------------


def test_an_endpoint_failing_for_days_is_disabled_with_a_reason(crm: Crm, settings) -> None:
    settings.LEADGATE_WEBHOOK_DISABLE_AFTER_DAYS = 5
    crm.answer(500, 500, 500)
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    assert endpoint.failing_since is not None
    assert endpoint.is_active
    # four days of failures: still active
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=4)
    )
    assert delivery_attempt(delivery_id=delivery.id, now=_due(delivery)) == "retry"
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active
    # six days: disabled, and the marketer is told why
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=6)
    )
    assert delivery_attempt(delivery_id=delivery.id, now=_due(delivery)) == "retry"
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert endpoint.disabled_at is not None
    assert "days of failures" in endpoint.disabled_reason
    # the pending delivery is now skipped, not posted
    assert delivery_attempt(delivery_id=delivery.id, now=_due(delivery)) == "skipped"
    assert len(crm.hits) == 3


def test_a_success_clears_the_failure_streak(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
        failing_since=timezone.now() - timedelta(days=2)
    )
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    assert WebhookEndpoint.objects.get(pk=delivery.endpoint_id).failing_since is None


def test_reenabling_forgets_the_failure_streak() -> None:
    from profiling.services.endpoints import webhook_endpoint_save

    endpoint = make_endpoint(
        url="https://93.184.216.34/hook",
        is_active=False,
        disabled_reason="x",
        disabled_at=timezone.now(),
        failing_since=timezone.now() - timedelta(days=9),
    )
    endpoint = webhook_endpoint_save(endpoint=endpoint, data={"is_active": True})
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (True, "")
    assert endpoint.disabled_at is None
    assert endpoint.failing_since is None


# --- speed to lead and latency ----------------------------------------------------------


def test_speed_to_lead_is_recorded_once_from_the_trigger_to_the_2xx(crm: Crm) -> None:
    delivery = _delivery(crm.url)
    triggered = timezone.now() - timedelta(milliseconds=1500)
    Delivery.objects.filter(pk=delivery.pk).update(triggered_at=triggered)
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    delivery.refresh_from_db()
    assert delivery.speed_to_lead_ms is not None
    assert delivery.delivered_at is not None
    expected = (delivery.delivered_at - triggered).total_seconds() * 1000
    assert abs(delivery.speed_to_lead_ms - expected) <= 1
    assert 1500 <= delivery.speed_to_lead_ms < 10_000
    assert delivery.last_latency_ms is not None
    assert 0 <= delivery.last_latency_ms < 5000
    first = delivery.speed_to_lead_ms
    # a manual redelivery much later does not rewrite the first success's timing
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    assert Delivery.objects.get(pk=delivery.pk).speed_to_lead_ms == first


def test_failed_attempts_record_latency_but_no_speed(crm: Crm) -> None:
    crm.answer(500)
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_latency_ms is not None
    assert delivery.speed_to_lead_ms is None


def test_endpoint_stats_percentiles() -> None:
    from profiling.selectors import endpoint_delivery_stats

    endpoint = make_endpoint(url="https://93.184.216.34/hook")
    lead = make_lead()
    now = timezone.now()
    for i, ms in enumerate([10, 20, 30, 40, 1000]):
        Delivery.objects.create(
            endpoint=endpoint,
            grade_change=_change(lead, "warm", "hot"),
            lead=lead,
            payload={},
            status=DeliveryStatus.SUCCEEDED,
            delivered_at=now - timedelta(seconds=i),
            speed_to_lead_ms=ms,
        )
    Delivery.objects.create(
        endpoint=endpoint, grade_change=_change(lead, "warm", "hot"), lead=lead, payload={}
    )
    stats = endpoint_delivery_stats(endpoint_id=endpoint.pk)
    speed = stats["speed_to_lead_ms"]
    assert speed["count"] == 5
    assert speed["p50"] == 30
    assert speed["p95"] == pytest.approx(40 + 0.8 * 960)
    assert speed["max"] == 1000
    assert stats["deliveries"] == {"pending": 1, "succeeded": 5, "failed": 0, "skipped": 0}
    empty = endpoint_delivery_stats(endpoint_id=make_endpoint(url=endpoint.url).pk)
    assert empty["speed_to_lead_ms"] == {
        "count": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
    }


# --- the whole answer within the timeout; only the excerpt is read -----------------------


@pytest.fixture
def slow_crm() -> Iterator[dict[str, Any]]:
    """Answers 200 at once, then drips a large body slowly (or not), as configured."""
    import time

    state: dict[str, Any] = {"drip_s": 0.0, "body": b"x" * 100_000, "hits": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            state["hits"] += 1
            body = state["body"]
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            try:
                for i in range(0, len(body), 100):
                    self.wfile.write(body[i : i + 100])
                    self.wfile.flush()
                    if state["drip_s"]:
                        time.sleep(state["drip_s"])
            except OSError:
                return  # the client stopped reading: expected

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_a_large_answer_is_not_downloaded_beyond_the_excerpt(slow_crm: dict[str, Any]) -> None:
    delivery = _delivery(slow_crm["url"])
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    delivery.refresh_from_db()
    assert delivery.last_response_body == "x" * 500


def test_a_2xx_that_takes_longer_than_the_timeout_is_a_failure(
    slow_crm: dict[str, Any], settings
) -> None:
    settings.LEADGATE_WEBHOOK_TIMEOUT_S = 1
    slow_crm["body"] = b""  # headers at once, then nothing: must not hang
    slow_crm["drip_s"] = 0.0
    delivery = _delivery(slow_crm["url"])
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"  # fast: fine
    # a body dripped 100 bytes every 0.4 s: each read is within httpx's per-read timeout,
    # but the whole answer is not within 1 s, so it is not a success
    slow_crm["body"] = b"y" * 400
    slow_crm["drip_s"] = 0.4
    second = _delivery(slow_crm["url"])
    assert delivery_attempt(delivery_id=second.id) == "retry"
    second.refresh_from_db()
    assert "ReadTimeout" in second.last_error
    assert second.status == DeliveryStatus.PENDING


# --- Retry-After as an HTTP date ---------------------------------------------------------


def test_retry_after_http_date_and_garbage() -> None:
    from email.utils import format_datetime

    from profiling.services.delivery import retry_after_seconds

    now = timezone.now()
    in_an_hour = format_datetime(now + timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(in_an_hour, now=now.timestamp()) == pytest.approx(3600, abs=1)
    past = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(past, now=now.timestamp()) == 0
    for garbage in ("soon", "", "Mon, 99 Foo", "-5e999"):
        value = retry_after_seconds(garbage)
        assert value is None or value == 0
    assert retry_after_seconds("120") == 120


def test_retry_after_is_capped_at_a_day() -> None:
    from profiling.services.delivery import next_delay

    delay = next_delay(1, 10 * 86400)
    assert delay == timedelta(hours=24)


# --- test events --------------------------------------------------------------------------


def test_send_test_event_posts_a_signed_webhook_test_now_and_logs_it(crm: Crm) -> None:
    from profiling.services.delivery import delivery_send_test

    endpoint = make_endpoint(url=crm.url, is_active=False, disabled_reason="410 Gone")
    delivery = delivery_send_test(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.event_type == "webhook.test"
    assert delivery.lead_id is None
    assert delivery.grade_change_id is None
    assert delivery.last_status_code == 200
    assert delivery.last_latency_ms is not None
    (hit,) = crm.hits
    payload = Webhook(endpoint.secret).verify(hit.body, hit.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == endpoint.pk
    assert hit.headers["webhook-id"] == f"msg_{delivery.id.hex}"


def test_a_failing_test_event_is_not_retried_nor_counted_against_the_endpoint(crm: Crm) -> None:
    from profiling.services.delivery import delivery_send_test

    crm.answer(500)
    endpoint = make_endpoint(url=crm.url)
    delivery = delivery_send_test(endpoint=endpoint)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.last_status_code == 500
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert endpoint.is_active
    assert str(delivery.pk) not in deliveries_due(now=timezone.now() + timedelta(days=3))


# --- the published JSON Schema ------------------------------------------------------------


def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    from profiling.services.delivery import schema_text

    text = schema_text(name)
    assert text is not None
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_real_bodies_validate_against_the_published_schema(crm: Crm) -> None:
    from profiling.services.delivery import delivery_send_test

    validator = _validator("lead.grade_changed.v1.json")
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    # the bytes the CRM received, not just our dict
    body = json.loads(crm.hits[0].body)
    assert list(validator.iter_errors(body)) == []
    # a lead with empty optional fields and a free-mail domain too
    lead = make_lead(company_domain="", subscribed=True)
    change = _change(lead, "cold", "warm")
    assert list(validator.iter_errors(payload_for(change=change, lead=lead))) == []
    # and the schema is not vacuous: a wrong grade, a missing field, a bad uuid fail
    broken = json.loads(crm.hits[0].body)
    broken["data"]["grade"] = "boiling"
    assert list(validator.iter_errors(broken))
    del body["data"]["lead"]["email"]
    assert list(validator.iter_errors(body))
    third = json.loads(crm.hits[0].body)
    third["data"]["lead"]["id"] = "not-a-uuid"
    assert list(validator.iter_errors(third))

    test_validator = _validator("webhook.test.v1.json")
    delivery_send_test(endpoint=delivery.endpoint)
    assert list(test_validator.iter_errors(json.loads(crm.hits[-1].body))) == []
    assert list(validator.iter_errors(json.loads(crm.hits[-1].body)))  # not a grade change


def test_schemas_are_served_at_a_stable_url(client: Any) -> None:
    for name in ("lead.grade_changed.v1.json", "webhook.test.v1.json"):
        response = client.get(f"/schemas/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/schema+json"
        assert response.json()["$id"] == f"/schemas/{name}"
    for bad in ("nope.v1.json", "lead.grade_changed.v2.json", "..%2F..%2Fsettings.v1.json"):
        response = client.get(f"/schemas/{bad}")
        assert response.status_code == 404
        if response["Content-Type"].startswith("application/json"):
            assert "errors" in response.json()
    assert client.post("/schemas/lead.grade_changed.v1.json").status_code == 405


# --- deliveries jump the broker queue ------------------------------------------------------


def test_deliveries_are_published_ahead_of_background_work() -> None:
    """On Redis, priority 0 is its own list, popped before the others: a push to sales
    never waits behind a burst of scoring tasks (config/celery.py, DELIVERY_PRIORITY)."""
    import os
    import uuid

    import redis

    from config.celery import app
    from profiling.queue import enqueue_now
    from profiling.services.delivery.attempt import DELIVER_TASK, DELIVERY_PRIORITY
    from tests.conftest import require_services

    require_services()
    queue = f"priority-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    app.conf.task_always_eager = False
    try:
        assert enqueue_now("profiling.tasks.score_lead", "lead-1", queue=queue)
        assert enqueue_now(DELIVER_TASK, "delivery-1", queue=queue, priority=DELIVERY_PRIORITY)
        keys: Any = client.keys(queue + "*")
        sizes = {k.decode(): client.llen(k) for k in keys}
        assert sizes == {queue: 1, queue + "\x06\x166": 1}
        # What a worker's BRPOP over the priority lists takes first: the delivery.
        popped: Any = client.brpop([queue, queue + "\x06\x163", queue + "\x06\x166"], timeout=1)
        assert popped is not None
        assert json.loads(popped[1])["headers"]["task"] == DELIVER_TASK
    finally:
        app.conf.task_always_eager = True
        for key in client.keys(queue + "*"):
            client.delete(key)
        client.close()


# --- Retry-After forms, timeouts and per-lead order ------------------------------------


def test_retry_after_as_an_http_date_is_honoured(crm: Crm) -> None:
    from email.utils import format_datetime

    in_an_hour = timezone.now() + timedelta(hours=1)
    crm.answer((503, {"Retry-After": format_datetime(in_an_hour, usegmt=True)}))
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    due = _due(delivery)
    assert due >= in_an_hour - timedelta(seconds=2)
    assert due <= in_an_hour + timedelta(seconds=5)


def test_retry_after_header_is_capped_at_a_day_end_to_end(crm: Crm) -> None:
    crm.answer((503, {"Retry-After": str(30 * 86400)}))
    delivery = _delivery(crm.url)
    start = timezone.now()
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    due = _due(delivery)
    assert start + timedelta(hours=23) <= due <= timezone.now() + timedelta(hours=24, seconds=1)


def test_no_answer_within_the_timeout_is_retried(crm: Crm, settings) -> None:
    settings.LEADGATE_WEBHOOK_TIMEOUT_S = 0.3
    crm.delay_s = 1.0
    delivery = _delivery(crm.url)
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert "Timeout" in delivery.last_error
    assert delivery.attempts == 1


def test_a_leads_changes_reach_the_crm_in_order(crm: Crm) -> None:
    endpoint = make_endpoint(url=crm.url, grades=["warm", "hot"])
    lead = make_lead()
    warm = GradeChange.objects.create(lead=lead, previous_grade="cold", grade="warm", score=40)
    hot = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    deliveries_create_for_change(change=warm, lead=lead)
    deliveries_create_for_change(change=hot, lead=lead)
    first = Delivery.objects.get(grade_change=warm, endpoint=endpoint)
    second = Delivery.objects.get(grade_change=hot, endpoint=endpoint)
    crm.answer(500)
    assert delivery_attempt(delivery_id=first.id) == "retry"
    # the hot push waits for the warm one
    assert delivery_attempt(delivery_id=second.id) == "blocked"
    assert len(crm.hits) == 1
    # the warm one gets through; the hot one is sent right after it (kicked, eagerly)
    assert delivery_attempt(delivery_id=first.id, now=_due(first)) == "succeeded"
    grades = [json.loads(h.body)["data"]["grade"] for h in crm.hits]
    assert grades == ["warm", "warm", "hot"]
    assert Delivery.objects.get(pk=second.pk).status == DeliveryStatus.SUCCEEDED


def test_a_lead_who_opts_out_after_the_push_was_queued_is_never_sent(crm: Crm) -> None:
    from profiling.models import Lead

    delivery = _delivery(crm.url)
    assert delivery.lead is not None
    Lead.objects.filter(pk=delivery.lead.pk).update(do_not_contact=True)
    assert delivery_attempt(delivery_id=delivery.id) == "skipped"
    erased = _delivery(crm.url)
    assert erased.lead is not None
    Lead.objects.filter(pk=erased.lead.pk).update(erased_at=timezone.now())
    assert delivery_attempt(delivery_id=erased.id) == "skipped"
    assert crm.hits == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SKIPPED
    assert "not to be contacted" in delivery.last_error


# --- SSRF: the connection is pinned to the address that was checked ------------------------


def _fake_dns(monkeypatch: Any, answers: list[str]) -> list[str]:
    """getaddrinfo answering from `answers` in turn (a rebinding DNS server)."""
    import socket

    from profiling.services.delivery import urls as urls_module

    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    # Only the guard's lookups are faked (httpx's own resolver is left alone).
    fake = types.SimpleNamespace(
        getaddrinfo=getaddrinfo, gaierror=socket.gaierror, SOCK_STREAM=socket.SOCK_STREAM
    )
    monkeypatch.setattr(urls_module, "socket", fake)
    return asked


def test_the_checked_address_is_the_one_connected_to(monkeypatch: Any, settings: Any) -> None:
    from profiling.services.delivery.urls import webhook_target

    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    # public for the check, then loopback: a rebinding attack. Only one lookup is made,
    # and the connection goes to the address it returned.
    asked = _fake_dns(monkeypatch, ["93.184.216.34", "127.0.0.1"])
    target = webhook_target("https://crm.example.com:8443/hooks/in?x=1")
    assert target.url == "https://93.184.216.34:8443/hooks/in?x=1"
    assert target.host_header == "crm.example.com:8443"
    assert target.sni_hostname == "crm.example.com"
    assert asked == ["crm.example.com"]
    # the next check sees the loopback answer and refuses
    with pytest.raises(UnsafeWebhookUrl):
        webhook_target("https://crm.example.com/hooks/in")


def test_pinning_ipv6_plain_http_and_literal_addresses(monkeypatch: Any, settings: Any) -> None:
    from profiling.services.delivery.urls import webhook_target

    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    _fake_dns(monkeypatch, ["2606:2800:220:1:248:1893:25c8:1946"])
    target = webhook_target("http://crm.example.com/hook")
    assert target.url == "http://[2606:2800:220:1:248:1893:25c8:1946]/hook"
    assert (target.host_header, target.sni_hostname) == ("crm.example.com", None)
    literal = webhook_target("https://93.184.216.34/hook")
    assert literal.url == "https://93.184.216.34/hook"
    assert literal.host_header is None


@pytest.mark.parametrize("address", ["10.1.2.3", "169.254.169.254", "fe80::1%eth0", "::1"])
def test_a_name_resolving_to_a_private_address_is_refused_at_send_time(
    crm: Crm, monkeypatch: Any, settings: Any, address: str
) -> None:
    delivery = _delivery("https://crm.example.com/hook")
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    _fake_dns(monkeypatch, [address])
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert "private" in delivery.last_error
    assert delivery.last_status_code is None


def test_the_post_goes_to_the_pinned_address_with_the_original_host(
    monkeypatch: Any, settings: Any
) -> None:
    """End to end through httpx: the name resolves (once) to where the CRM listens, the
    request connects there, and the CRM still sees its own host name."""
    from profiling.services.delivery import urls as urls_module
    from tests.support.crm import CrmReceiver

    with CrmReceiver() as receiver:
        delivery = _delivery(f"http://crm.example.com:{receiver.port}/crm/leadgate")
        settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
        # The receiver is on loopback; let the guard pass it for this test only.
        monkeypatch.setattr(urls_module, "_address_refusal", lambda address: None)
        asked = _fake_dns(monkeypatch, ["127.0.0.1", "10.9.9.9"])
        outcome = delivery_attempt(delivery_id=delivery.id)
        delivery.refresh_from_db()
        assert outcome == "succeeded", delivery.last_error
        (request,) = receiver.requests
        port = receiver.port
    assert asked == ["crm.example.com"]
    assert request.headers["host"] == f"crm.example.com:{port}"
    assert request.path == "/crm/leadgate"


@pytest.fixture
def network(monkeypatch: Any) -> list[str]:
    """Every request the attempt's HTTP client sends, answered 200 without a network:
    what would have been connected to."""
    import os

    import httpx

    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"ok": True})

    monkeypatch.setattr(
        attempt_module, "_client", httpx.Client(transport=httpx.MockTransport(answer))
    )
    monkeypatch.setattr(attempt_module, "_client_pid", os.getpid())
    return sent


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://100.100.100.200/latest/meta-data/", "Shared Address Space (100.64.0.0/10"),
        ("http://[2002:a00:1::]/hook", "6to4 (2002::/16) for 10.0.0.1, which is Private-Use"),
        ("http://[64:ff9b::a9fe:a9fe]/hook", "for 169.254.169.254, which is Link Local"),
        ("http://[::ffff:192.168.1.1]/hook", "for 192.168.1.1, which is Private-Use"),
        ("http://0x7f.1:8000/hook", "0x7f.1 resolves to 127.0.0.1, which is Loopback"),
    ],
)
def test_an_endpoint_stored_while_allowed_is_refused_at_send_time_without_connecting(
    network: list[str], settings: Any, url: str, reason: str
) -> None:
    delivery = _delivery(url)  # saved while LEADGATE_WEBHOOK_ALLOW_PRIVATE was on
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert reason in delivery.last_error
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert network == []
    # with the setting back on, the same attempt goes out (so the spy above can see one)
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True
    delivery.next_attempt_at = None
    delivery.save(update_fields=["next_attempt_at"])
    assert delivery_attempt(delivery_id=delivery.id) == "succeeded"
    assert len(network) == 1


def test_a_name_with_one_address_that_is_not_public_is_refused_at_send_time(
    network: list[str], monkeypatch: Any, settings: Any
) -> None:
    delivery = _delivery("https://crm.example.com/hook")
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = False
    _fake_dns(monkeypatch, ["192.0.0.1"])
    assert delivery_attempt(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert "crm.example.com resolves to 192.0.0.1" in delivery.last_error
    assert "IPv4 Service Continuity Prefix" in delivery.last_error
    assert network == []
