"""A gate's page and its iframe variant: the form (or the content it unlocks) on GET,
the form's POST, and the 303 to the content with the access token."""

from __future__ import annotations

import base64
import os
import uuid
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.framing import frame_ancestors_allow
from forms_app.forms import UTM_FIELDS, GateForm, clean_url
from forms_app.links import base_url
from forms_app.models import Gate, QuarantineReason, QuarantineVia, SpamTallyKind, Stage
from forms_app.selectors import gate_get_active, lead_id_for_visitor
from forms_app.services.quarantine import quarantine_hold, spam_tally_add
from forms_app.services.submissions import SubmissionInput, submission_create
from forms_app.spam import FIELD as TOKEN_FIELD
from forms_app.spam import TokenVerdict, form_token_check, token_suspect
from forms_app.stage_policy import fields_for
from forms_app.throttle import submission_wait_seconds
from forms_app.views.common import (
    _not_found,
    _private,
    _set_access_cookie,
    _set_visitor_cookie,
    access_for,
    parse_uuid,
    visitor_id_from,
)
from forms_app.views.gate_render import CONFIRM_NOTICE, _render_content, _render_form


def _initial_hidden(request: HttpRequest) -> dict[str, str]:
    """What the GET learnt that the POST must remember: UTM, original referrer, visitor."""
    data = {name: request.GET.get(name, "")[:200] for name in UTM_FIELDS}
    referrer = clean_url(request.META.get("HTTP_REFERER", ""))
    # Our own page is not a referrer worth keeping (a reload, a failed submission).
    if referrer and urlsplit(referrer).netloc == request.get_host():
        referrer = ""
    data["referrer"] = referrer
    # The embed script passes the parent page's visitor as `vid` (a cross-site iframe
    # does not see the first-party cookie).
    vid = parse_uuid(request.GET.get("vid")) or visitor_id_from(request)
    data["visitor_id"] = str(vid) if vid else ""
    return data


def _page_url(request: HttpRequest) -> str:
    """The page the form was on, without the access token."""
    query = request.GET.copy()
    query.pop("t", None)
    url = request.build_absolute_uri(request.path)
    return clean_url(url + (f"?{query.urlencode()}" if query else ""))


def _content_url(
    request: HttpRequest, gate: Gate, token: str, *, embed: bool, confirm: bool = False
) -> str:
    name = "gate-embed" if embed else "gate-page"
    url = reverse(name, kwargs={"slug": gate.slug})
    query = {"t": token} if token else {}
    if confirm:
        query[CONFIRM_NOTICE] = "1"
    return f"{url}?{urlencode(query)}" if query else url


def _fake_token() -> str:
    """Looks like an access token to a bot; grants nothing."""
    return "." + base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")


def _same_origin_post(request: HttpRequest) -> bool:
    """The embed posts without Django's CSRF cookie (a cross-site iframe does not get
    SameSite=Lax cookies), so it checks the Origin header instead: the form is ours."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc == request.get_host()


def _gate_response(request: HttpRequest, slug: str, *, embed: bool) -> HttpResponseBase:
    gate = gate_get_active(slug=slug)
    if gate is None:
        return _not_found(request, embed=embed)
    with translation.override(gate.language):
        response = _gate_answer(request, gate, embed=embed)
    if embed:
        # The iframe variant may be framed by the sites the gate allows, and only them;
        # every other page by no one (the site-wide CSP and X-Frame-Options: DENY).
        frame_ancestors_allow(response, gate.allowed_origins or [])
    return response


def _gate_answer(request: HttpRequest, gate: Gate, *, embed: bool) -> HttpResponseBase:
    access, token = access_for(request, gate)
    open_content = gate.stage == Stage.EPIPHANY

    if request.method == "POST":
        if open_content:
            # Open content has no form: show the page.
            return HttpResponseRedirect(_content_url(request, gate, token, embed=embed), status=303)
        if embed and not _same_origin_post(request):
            return HttpResponse("Forbidden", status=403, content_type="text/plain")
        return _gate_post(request, gate, embed=embed)

    if open_content or access is not None:
        response = _render_content(request, gate, access, token, embed=embed)
        if access is not None and request.GET.get("t") == token:
            # A link with a token (the redirect after the form, an emailed link) also
            # unlocks later visits without it.
            _set_access_cookie(response, request, gate.slug, token)
        if access is not None and visitor_id_from(request) is None:
            # A new browser opening the lead's link (another device, the emailed link):
            # adopt the visitor the token was made for, so the tracker's section views
            # count for this lead. A browser with its own visitor keeps it (no merging).
            _set_visitor_cookie(response, request, access.visitor_id)
        return _private(response)
    initial = _initial_hidden(request)
    known_lead = lead_id_for_visitor(parse_uuid(initial["visitor_id"]))
    form = GateForm(initial=initial, specs=fields_for(gate, known_lead))
    return _private(_render_form(request, gate, form, embed=embed))


def _gate_post(request: HttpRequest, gate: Gate, *, embed: bool) -> HttpResponseBase:
    # The same visitor as on GET, so progressive profiling asks the same question.
    vid = parse_uuid(request.POST.get("visitor_id")) or visitor_id_from(request)
    form = GateForm(request.POST, specs=fields_for(gate, lead_id_for_visitor(vid)))
    verdict = form_token_check(request.POST.get(TOKEN_FIELD), gate_slug=gate.slug)
    if form.is_bot or token_suspect(verdict):
        # Honeypot (a bot: only counted), or a missing, forged or too-fast form token
        # (maybe a person whose browser autofilled: held for a marketer to release, if
        # the form is valid). Look exactly like a success (same status, same redirect
        # shape) and make no lead.
        if form.is_bot:
            spam_tally_add(gate=gate, kind=SpamTallyKind.HONEYPOT)
        elif form.is_valid():
            quarantine_hold(
                gate=gate,
                data=_submission_input(request, form, visitor_id=vid),
                reason=QuarantineReason(verdict.value),
                via=QuarantineVia.FORM,
            )
        else:
            # Nothing a release could accept; showing the errors would tell a bot that
            # its token passed.
            spam_tally_add(gate=gate, kind=SpamTallyKind.DISCARDED)
        return HttpResponseRedirect(
            _content_url(request, gate, _fake_token(), embed=embed), status=303
        )
    if verdict is TokenVerdict.EXPIRED:
        form.is_valid()  # keep what the visitor typed
        form.add_error(None, gettext("This form had been open too long; please submit it again."))
        return _private(_render_form(request, gate, form, embed=embed, status=400))
    wait = submission_wait_seconds(request, gate.pk)
    if wait is not None:
        form.is_valid()  # keep what the visitor typed, with any field errors
        form.add_error(
            None,
            gettext("Too many submissions from here; please try again in %(wait)s seconds.")
            % {"wait": wait},
        )
        response = _render_form(request, gate, form, embed=embed, status=429)
        response["Retry-After"] = str(wait)
        return _private(response)
    if not form.is_valid():
        return _private(_render_form(request, gate, form, embed=embed, status=400))
    visitor_id = form.cleaned_data.get("visitor_id") or visitor_id_from(request) or uuid.uuid4()
    result = submission_create(
        gate=gate,
        data=_submission_input(request, form, visitor_id=visitor_id),
        base_url=base_url(request),
    )
    asked_to_confirm = gate.double_opt_in and bool(form.cleaned_data.get("subscribe"))
    response = HttpResponseRedirect(
        _content_url(request, gate, result.access_token, embed=embed, confirm=asked_to_confirm),
        status=303,
    )
    _set_visitor_cookie(response, request, result.visitor_id)
    _set_access_cookie(response, request, gate.slug, result.access_token)
    return response


def _submission_input(
    request: HttpRequest, form: GateForm, *, visitor_id: uuid.UUID | None
) -> SubmissionInput:
    """A valid form's submission (`visitor_id`: the form's, the cookie's, or a new one)."""
    data = form.cleaned_data
    return SubmissionInput(
        name=data["name"],
        email=data["email"],
        subscribe=bool(data.get("subscribe")),
        visitor_id=data.get("visitor_id") or visitor_id,
        answers=form.answers(),
        utm_source=(data.get("utm_source") or "")[:200],
        utm_medium=(data.get("utm_medium") or "")[:200],
        utm_campaign=(data.get("utm_campaign") or "")[:200],
        referrer=clean_url(data.get("referrer") or ""),
        page_url=_page_url(request),
    )


# Section bodies may show images by https URL (forms_app/section_body.py).
SECTION_IMAGES = {"img-src": ["https:"]}


@require_http_methods(["GET", "HEAD", "POST"])
@csp_update(SECTION_IMAGES)  # type: ignore[arg-type]  # typed for (request) views
def gate_page(request: HttpRequest, slug: str) -> HttpResponseBase:
    return _gate_response(request, slug, embed=False)


@csrf_exempt  # checked with the Origin header instead, see _same_origin_post
@xframe_options_exempt  # X-Frame-Options knows no allow-list: CSP frame-ancestors decides
@require_http_methods(["GET", "HEAD", "POST"])
@csp_update(SECTION_IMAGES)  # type: ignore[arg-type]  # typed for (request) views
def gate_embed(request: HttpRequest, slug: str) -> HttpResponseBase:
    return _gate_response(request, slug, embed=True)
