"""lead_identify / visitor_attach / visitor_prove: one lead per email, consent recorded,
visitors attached, and an existing lead changed or merged only on proof."""

from __future__ import annotations

import threading
import uuid

import pytest

from profiling.models import Consent, ConsentMethod, Event, IdentityProof, Lead, Visitor
from profiling.services.identity import (
    TouchSource,
    lead_claim_confirm,
    lead_identify,
    leads_merge,
    normalise_email,
    visitor_attach,
    visitor_prove,
)
from tests.support.factories import make_event, make_gate, make_lead, make_visitor, random_email


def test_normalise_email() -> None:
    assert normalise_email("  Ada@Example.COM ") == "ada@example.com"


@pytest.mark.django_db
def test_creates_a_lead_with_passive_profile() -> None:
    gate = make_gate()
    result = lead_identify(
        email="Ada@Acme-Networks.io",
        name="Ada",
        source=TouchSource(utm_source="newsletter", referrer="https://news.example.com/"),
        gate_id=gate.id,
    )
    lead = result.lead
    assert result.created
    assert lead.email == "ada@acme-networks.io"
    assert lead.company_domain == "acme-networks.io"
    assert lead.is_disposable_email is False
    assert lead.utm_source == "newsletter"
    assert lead.referrer == "https://news.example.com/"
    assert lead.first_gate_id == gate.id
    assert lead.subscribed is False
    assert lead.consent_text == ""
    assert lead.consented_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "company", "disposable"),
    [
        ("ada@gmail.com", "", False),
        ("ada@mailinator.com", "", True),
        ("ada@sub.mailinator.com", "", True),
        ("ada@acme.io", "acme.io", False),
    ],
)
def test_company_domain_and_disposable_flag(email: str, company: str, disposable: bool) -> None:
    lead = lead_identify(email=email, name="Ada").lead
    lead.refresh_from_db()
    assert lead.company_domain == company
    assert lead.is_disposable_email is disposable


@pytest.mark.django_db
def test_subscribe_records_consent_and_a_later_opt_in_renews_it() -> None:
    email = random_email()
    gate = make_gate()
    browser = uuid.uuid4()
    result = lead_identify(
        email=email,
        name="Ada",
        subscribed=True,
        consent_text="v1",
        visitor_id=browser,
        gate_id=gate.id,
    )
    lead = result.lead
    assert (lead.subscribed, lead.consent_text) == (True, "v1")
    assert (result.created, result.proven, result.pending) == (True, False, False)
    first_consent = lead.consented_at
    assert first_consent is not None
    consent = Consent.objects.get(lead=lead)
    assert (consent.text, consent.method, consent.gate_id) == ("v1", ConsentMethod.FORM, gate.id)
    assert consent.given_at == first_consent
    # a later visit without the box ticked: still subscribed, same notice
    lead_identify(email=email, name="Ada", subscribed=False, consent_text="v2", visitor_id=browser)
    lead.refresh_from_db()
    assert (lead.subscribed, lead.consent_text, lead.consented_at) == (True, "v1", first_consent)
    # opting in again under a new notice changes consent: not before the browser proves
    # the address (making the lead proved nothing)
    pending = lead_identify(
        email=email, name="Ada", subscribed=True, consent_text="v3", visitor_id=browser
    )
    assert (pending.proven, pending.pending) == (False, True)
    lead.refresh_from_db()
    assert (lead.subscribed, lead.consent_text) == (True, "v1")
    visitor_prove(visitor_id=browser, lead_id=lead.id)
    proven = lead_identify(
        email=email, name="Ada", subscribed=True, consent_text="v3", visitor_id=browser
    )
    assert (proven.proven, proven.pending) == (True, False)
    lead.refresh_from_db()
    assert (lead.subscribed, lead.consent_text) == (True, "v3")
    assert lead.consented_at is not None
    assert lead.consented_at > first_consent
    assert list(Consent.objects.filter(lead=lead).values_list("text", flat=True)) == ["v1", "v3"]


@pytest.mark.django_db
def test_no_consent_text_without_opt_in() -> None:
    lead = lead_identify(email=random_email(), name="Ada", consent_text="notice").lead
    assert (lead.subscribed, lead.consent_text, lead.consented_at) == (False, "", None)


@pytest.mark.django_db
def test_existing_lead_found_case_insensitively_and_first_touch_kept() -> None:
    existing = make_lead(email="grace@acme.io", name="Grace", utm_source="linkedin")
    browser = uuid.uuid4()
    result = lead_identify(
        email="GRACE@Acme.io",
        name="Grace H.",
        source=TouchSource(utm_source="google"),
        visitor_id=browser,
    )
    assert not result.created
    assert result.lead.id == existing.id
    existing.refresh_from_db()
    # An unproven browser: the new name waits for the owner's confirmation.
    assert existing.name == "Grace"
    assert result.pending is True
    assert existing.utm_source == "linkedin"
    assert existing.last_utm_source == "google"
    assert Lead.objects.count() == 1
    # Once the browser has proven the address, its claims apply.
    visitor_prove(visitor_id=browser, lead_id=existing.id)
    lead_identify(email="grace@acme.io", name="Grace H.", visitor_id=browser)
    existing.refresh_from_db()
    assert existing.name == "Grace H."


@pytest.mark.django_db
def test_blank_name_does_not_erase_the_known_name() -> None:
    existing = make_lead(email="grace@acme.io", name="Grace")
    lead_identify(email="grace@acme.io", name="")
    existing.refresh_from_db()
    assert existing.name == "Grace"


@pytest.mark.django_db
def test_visitor_attach_creates_or_repoints_and_hands_over_anonymous_events() -> None:
    gate = make_gate()
    old_lead, new_lead = make_lead(), make_lead()
    visitor = make_visitor(lead=old_lead)
    anonymous = make_event(visitor=visitor, gate=gate, section_key="section-1", lead=None)
    owned = make_event(visitor=visitor, gate=gate, section_key="section-2")
    visitor_attach(visitor_id=visitor.id, lead_id=new_lead.id)
    assert Visitor.objects.get(pk=visitor.id).lead_id == new_lead.id
    assert Event.objects.get(pk=anonymous.id).lead_id == new_lead.id
    # events already credited to someone stay theirs
    assert Event.objects.get(pk=owned.id).lead_id == old_lead.id

    fresh = uuid.uuid4()
    visitor_attach(visitor_id=fresh, lead_id=new_lead.id)
    assert Visitor.objects.get(pk=fresh).lead_id == new_lead.id


@pytest.mark.django_db
def test_one_lead_can_own_several_visitors() -> None:
    email = random_email()
    v1, v2 = uuid.uuid4(), uuid.uuid4()
    a = lead_identify(email=email, name="Ada", visitor_id=v1).lead
    b = lead_identify(email=email, name="Ada", visitor_id=v2).lead
    assert a.id == b.id
    assert set(Visitor.objects.filter(lead=a).values_list("id", flat=True)) == {v1, v2}


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_submissions_of_one_email_make_one_lead() -> None:
    email = random_email()
    workers = 6
    barrier = threading.Barrier(workers)
    results: list[uuid.UUID] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def identify(i: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=10)
            variant = email.upper() if i % 2 else email
            lead = lead_identify(email=variant, name=f"Ada {i}", visitor_id=uuid.uuid4()).lead
            with lock:
                results.append(lead.id)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=identify, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(results) == workers
    assert len(set(results)) == 1
    assert Lead.objects.filter(email=email).count() == 1
    assert Visitor.objects.filter(lead_id=results[0]).count() == workers


# --- second devices, replay and merges --------------------------------------------------


@pytest.mark.django_db
def test_identify_replays_earlier_anonymous_events_into_scoring(
    django_capture_on_commit_callbacks,
) -> None:
    from tests.support.factories import make_rule, set_thresholds

    set_thresholds(warm=20, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    visitor = make_visitor()
    for key in ("section-1", "section-2", "section-3"):
        make_event(visitor=visitor, gate=gate, section_key=key)
    with django_capture_on_commit_callbacks(execute=True):
        lead = lead_identify(email=random_email(), name="Ada", visitor_id=visitor.id).lead
    lead.refresh_from_db()
    assert Event.objects.filter(lead=lead).count() == 3
    assert (lead.score, lead.grade) == (30, "warm")


@pytest.mark.django_db
def test_a_browser_that_proves_two_addresses_merges_their_leads_into_the_older(
    django_capture_on_commit_callbacks,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from forms_app.models import Submission
    from tests.support.factories import make_rule, set_thresholds

    set_thresholds(warm=20, hot=80)
    gate = make_gate()
    make_rule(gate=gate, points=10)
    older = make_lead(email="jo@acme.example", name="Jo", utm_source="linkedin")
    Lead.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=30))
    laptop = make_visitor(lead=older)
    make_event(visitor=laptop, gate=gate, section_key="section-1")
    make_event(visitor=laptop, gate=gate, section_key="section-2")
    # The phone was identified with a private address: a second lead.
    phone = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        younger = lead_identify(email="jo.private@example.org", name="Jo", visitor_id=phone).lead
    make_event(visitor=Visitor.objects.get(pk=phone), gate=gate, section_key="section-3")
    Submission.objects.create(gate=gate, lead=younger, visitor_id=phone)
    # The phone proves the private address (its owner confirmed from the email).
    with django_capture_on_commit_callbacks(execute=True):
        visitor_prove(visitor_id=phone, lead_id=younger.id)
    # Later the phone submits the work address: a claim only, no merge, and the phone
    # stays with the lead it proved.
    with django_capture_on_commit_callbacks(execute=True):
        claim = lead_identify(email="JO@acme.example", name="Jo", visitor_id=phone)
    assert claim.lead.id == older.id
    assert claim.merged_from == ()
    younger.refresh_from_db()
    assert younger.merged_into_id is None
    assert Visitor.objects.get(pk=phone).lead_id == younger.id
    # The work address's owner confirms too: one browser proved both, one person.
    with django_capture_on_commit_callbacks(execute=True):
        winner = lead_claim_confirm(
            lead_id=older.id,
            visitor_id=phone,
            name="Jo",
            subscribe=False,
            consent_text="",
            gate_id=gate.id,
        )
    assert winner.id == older.id  # the known, older lead wins
    younger.refresh_from_db()
    older.refresh_from_db()
    assert older.email_verified_at is not None
    # The proofs moved with the person.
    assert set(
        IdentityProof.objects.filter(visitor_id=phone).values_list("lead_id", flat=True)
    ) == {older.id}
    assert younger.merged_into_id == older.id
    assert younger.score == 0
    # Moved, not copied: three events, each counted once.
    assert Event.objects.filter(lead=older).count() == 3
    assert Event.objects.filter(lead=younger).count() == 0
    assert Event.objects.count() == 3
    assert (older.score, older.grade) == (30, "warm")
    assert set(Visitor.objects.filter(lead=older).values_list("id", flat=True)) == {
        laptop.id,
        phone,
    }
    assert Submission.objects.get().lead_id == older.id
    assert older.utm_source == "linkedin"  # first touch kept
    # The younger email still finds the person.
    again = lead_identify(email="jo.private@example.org", name="Jo")
    assert again.lead.id == older.id
    # Claiming again (the phone is proven now) or proving again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = lead_identify(email="jo@acme.example", name="Jo", visitor_id=phone)
        visitor_prove(visitor_id=phone, lead_id=older.id)
    assert (again.proven, again.merged_from) == (True, ())
    older.refresh_from_db()
    assert older.score == 30
    assert Event.objects.filter(lead=older).count() == 3


@pytest.mark.django_db
def test_merged_lead_is_hidden_from_the_list_and_its_id_shows_the_winner(marketer) -> None:
    from django.test import Client

    older = make_lead(email="a@acme.example")
    younger = make_lead(email="b@acme.example")
    leads_merge(lead_ids=[older.id, younger.id])
    api = Client()
    listed = api.get("/api/v1/leads/", headers=marketer.auth_header).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [str(older.id)]
    detail = api.get(f"/api/v1/leads/{younger.id}", headers=marketer.auth_header).json()
    assert detail["id"] == str(older.id)


@pytest.mark.django_db
def test_identify_records_the_last_touch_and_keeps_the_first() -> None:
    email = random_email()
    lead_identify(email=email, name="A", source=TouchSource(utm_source="linkedin"))
    lead = lead_identify(
        email=email, name="A", source=TouchSource(utm_source="google", utm_medium="cpc")
    ).lead
    lead.refresh_from_db()
    assert (lead.utm_source, lead.last_utm_source, lead.last_utm_medium) == (
        "linkedin",
        "google",
        "cpc",
    )
    assert lead.last_touch_at is not None


@pytest.mark.django_db(transaction=True)
def test_ingest_racing_identify_never_deadlocks_or_loses_the_lead() -> None:
    """Ingest locks the visitor then references the lead; identify locks the lead then
    the visitor. Every event must end up with the lead, and neither side may fail."""
    from django.db import connection as main_connection

    from profiling.services.ingest import NewEvent, events_ingest

    gate = make_gate()
    email = random_email()
    visitor_id = uuid.uuid4()
    lead = lead_identify(email=email, name="Ada", visitor_id=visitor_id).lead
    errors: list[BaseException] = []
    lock = threading.Lock()
    rounds = 15

    def run(fn) -> None:
        from django.db import connection as thread_connection

        try:
            for _ in range(rounds):
                barrier.wait(timeout=20)
                fn()
        except BaseException as exc:
            with lock:
                errors.append(exc)
            barrier.abort()
        finally:
            thread_connection.close()

    def ingest() -> None:
        events_ingest(
            visitor_id=visitor_id,
            events=[NewEvent(id=uuid.uuid4(), type="page_view", gate_id=gate.id)],
        )

    def identify() -> None:
        lead_identify(email=email, name="Ada", visitor_id=visitor_id)

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=run, args=(fn,)) for fn in (ingest, identify)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    main_connection.close()
    assert errors == []
    assert Event.objects.filter(visitor_id=visitor_id).count() == rounds
    assert Event.objects.filter(visitor_id=visitor_id, lead=lead).count() == rounds


# --- claims without proof ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_claim_on_a_known_lead_from_an_unproven_browser_takes_nothing_over() -> None:
    alice = make_lead(name="Alice", subscribed=False)
    stranger = uuid.uuid4()
    result = lead_identify(
        email=alice.email, name="Mallory", subscribed=True, consent_text="n", visitor_id=stranger
    )
    assert (result.lead.id, result.created, result.proven, result.pending) == (
        alice.id,
        False,
        False,
        True,
    )
    alice.refresh_from_db()
    assert (alice.name, alice.subscribed, alice.consent_text) == ("Alice", False, "")
    assert not Consent.objects.filter(lead=alice).exists()
    # Behaviour only: the browser belonged to no one, so its events count for Alice.
    assert Visitor.objects.get(pk=stranger).lead_id == alice.id


@pytest.mark.django_db
def test_a_double_opt_in_claim_makes_the_lead_but_holds_the_opt_in() -> None:
    result = lead_identify(
        email=random_email(), name="Dee", subscribed=True, consent_text="n", hold_opt_in=True
    )
    assert (result.created, result.pending) == (True, True)
    assert (result.lead.name, result.lead.subscribed) == ("Dee", False)
    assert not Consent.objects.exists()


@pytest.mark.django_db
def test_which_lead_a_browser_follows_when_it_claims_another_address() -> None:
    # Unproven: a new address (a new person at a shared browser) takes the browser along.
    shared = uuid.uuid4()
    first = lead_identify(email=random_email(), name="A", visitor_id=shared).lead
    second = lead_identify(email=random_email(), name="B", visitor_id=shared).lead
    assert Visitor.objects.get(pk=shared).lead_id == second.id
    # An unproven claim on a known lead does not: the browser stays where it was.
    lead_identify(email=first.email, name="A", visitor_id=shared)
    assert Visitor.objects.get(pk=shared).lead_id == second.id
    # A browser that proved its lead keeps it, whatever new address it types.
    visitor_prove(visitor_id=shared, lead_id=second.id)
    third = lead_identify(email=random_email(), name="C", visitor_id=shared).lead
    assert Visitor.objects.get(pk=shared).lead_id == second.id
    assert Lead.objects.filter(merged_into__isnull=False).count() == 0
    # Proving a second address merges the two leads it proved, and nothing else.
    visitor_prove(visitor_id=shared, lead_id=third.id)
    third.refresh_from_db()
    second.refresh_from_db()
    assert {second.merged_into_id, third.merged_into_id} - {None} == {second.id}
    first.refresh_from_db()
    assert first.merged_into_id is None


@pytest.mark.django_db
def test_proving_is_idempotent_and_makes_the_visitor_row() -> None:
    lead = make_lead()
    browser = uuid.uuid4()  # never sent an event: no row yet
    for _ in range(2):
        assert visitor_prove(visitor_id=browser, lead_id=lead.id).id == lead.id
    assert IdentityProof.objects.filter(visitor_id=browser, lead=lead).count() == 1
    assert Visitor.objects.get(pk=browser).lead_id == lead.id


@pytest.mark.django_db
def test_confirming_a_claim_on_an_erased_lead_fails_cleanly() -> None:
    from profiling.services.leads import lead_erase

    lead = make_lead()
    lead_erase(lead=lead)
    with pytest.raises(Lead.DoesNotExist):
        lead_claim_confirm(
            lead_id=lead.id,
            visitor_id=uuid.uuid4(),
            name="X",
            subscribe=True,
            consent_text="n",
            gate_id=None,
        )
    lead.refresh_from_db()
    assert (lead.subscribed, lead.email_verified_at) == (False, None)


@pytest.mark.django_db
def test_a_merge_by_hand_keeps_the_lead_it_is_told_to() -> None:
    from datetime import timedelta

    from django.utils import timezone

    older, younger = make_lead(), make_lead()
    Lead.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=3))
    visitor = make_visitor(lead=older)
    IdentityProof.objects.create(visitor=visitor, lead=older, proved_at=timezone.now())
    winner = leads_merge(lead_ids=[older.id, younger.id], into=younger.id)
    assert winner.id == younger.id
    older.refresh_from_db()
    assert older.merged_into_id == younger.id
    assert Visitor.objects.get(pk=visitor.id).lead_id == younger.id
    assert IdentityProof.objects.get().lead_id == younger.id
