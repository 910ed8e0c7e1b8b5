"""Hosted pages: the landing page, a gate's own page (and its iframe variant), and the
tracked download (the emailed confirmation link's page: forms_app/confirm.py).

The gate page works without JavaScript: a plain POST to the same URL, validated by a
Django form, then a 303 to the content with the access token. `static/leadgate.js`
only adds passive profiling (page and section views) on top.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from config.framing import frame_ancestors_allow
from config.roles import MARKETER
from forms_app.access import Access, access_token_read
from forms_app.demo.logins import demo_logins_shown
from forms_app.forms import (
    CHOICE_PLACEHOLDER,
    HONEYPOT,
    QUESTION_PREFIX,
    UTM_FIELDS,
    GateForm,
    clean_url,
)
from forms_app.links import base_url
from forms_app.models import Gate, GateFile, QuarantineReason, QuarantineVia, SpamTallyKind, Stage
from forms_app.selectors import gate_get_active, lead_id_for_visitor
from forms_app.services.quarantine import quarantine_hold, spam_tally_add
from forms_app.services.submissions import SubmissionInput, submission_create
from forms_app.spam import FIELD as TOKEN_FIELD
from forms_app.spam import TokenVerdict, form_token_check, form_token_make, token_suspect
from forms_app.stage_policy import fields_for
from forms_app.throttle import submission_wait_seconds
from profiling.services.ingest import NewEvent, events_ingest

VISITOR_COOKIE = "lg_vid"
# Query flag of the content page after an opt-in on a double opt-in gate: "confirm from
# the email". Set for every such opt-in, emailed or not (capped, already subscribed), so
# the page never tells who already is a lead.
CONFIRM_NOTICE = "confirm"

VISITOR_COOKIE_MAX_AGE = 365 * 24 * 3600


def access_cookie_name(slug: str) -> str:
    return f"lg_access_{slug}"


def parse_uuid(raw: str | None) -> uuid.UUID | None:
    if not raw or len(raw) > 64:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def visitor_id_from(request: HttpRequest) -> uuid.UUID | None:
    """The tracker's visitor id from the first-party cookie, if it is a valid UUID."""
    return parse_uuid(request.COOKIES.get(VISITOR_COOKIE))


def access_for(request: HttpRequest, gate: Gate) -> tuple[Access | None, str]:
    """The access granted by the `t` query parameter or the gate's cookie, and its token."""
    for token in (request.GET.get("t"), request.COOKIES.get(access_cookie_name(gate.slug))):
        access = access_token_read(token, gate_slug=gate.slug)
        if access is not None:
            return access, str(token)
    return None, ""


def _set_cookie(
    response: HttpResponseBase,
    request: HttpRequest,
    name: str,
    value: str,
    *,
    max_age: int,
    httponly: bool,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        samesite="Lax",
        httponly=httponly,
        secure=request.is_secure(),
    )


def _set_visitor_cookie(response: HttpResponseBase, request: HttpRequest, vid: uuid.UUID) -> None:
    _set_cookie(
        response, request, VISITOR_COOKIE, str(vid), max_age=VISITOR_COOKIE_MAX_AGE, httponly=False
    )


def _set_access_cookie(
    response: HttpResponseBase, request: HttpRequest, slug: str, token: str
) -> None:
    _set_cookie(
        response,
        request,
        access_cookie_name(slug),
        token,
        max_age=settings.LEADGATE_ACCESS_TOKEN_MAX_AGE_S,
        httponly=True,
    )


def _private(response: HttpResponseBase) -> HttpResponseBase:
    # The page differs per visitor (form or content, a token in links): never cache it
    # in a shared cache.
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _not_found(request: HttpRequest, *, embed: bool = False) -> HttpResponse:
    return render(
        request,
        "forms_app/not_found.html",
        {"base_template": _base(embed)},
        status=404,
    )


def _base(embed: bool) -> str:
    return "forms_app/base_embed.html" if embed else "forms_app/base.html"


# --- landing page ------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    gates = Gate.objects.filter(is_active=True).order_by("title")
    # In the demo (sandbox on), say how a marketer logs in: `manage.py demo` made the
    # account (named only while it still has the demo's password).
    demo_login = next((x for x in demo_logins_shown() if x.group == MARKETER), None)
    return render(
        request,
        "forms_app/home.html",
        {
            "gates": gates,
            "sandbox": settings.LEADGATE_SANDBOX,
            "demo_login": demo_login,
        },
    )


# --- the gate page -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    """What the template needs to render one input accessibly."""

    name: str  # the HTML name
    id: str
    type: str  # text | email | checkbox | choice
    label: str
    required: bool
    autocomplete: str
    value: Any
    errors: list[str]
    choices: list[tuple[str, str]]
    maxlength: int | None

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"


def field_views(form: GateForm) -> list[FieldView]:
    """The form's fields as the gate templates render them (shared with the workspace's
    live preview, so a preview is exactly what visitors see)."""
    views: list[FieldView] = []
    for spec in form.specs:
        html_name = spec.name if spec.name in form.fields else QUESTION_PREFIX + spec.name
        bound = form[html_name]
        value = bound.value()
        choices: list[tuple[str, str]] = []
        if spec.type == "choice":
            choices = [("", gettext(CHOICE_PLACEHOLDER))] + [(c, c) for c in spec.choices]
        maxlength = getattr(form.fields[html_name], "max_length", None)
        views.append(
            FieldView(
                name=html_name,
                id=f"id_{html_name}",
                type=spec.type,
                label=spec.label,
                required=spec.required,
                autocomplete=spec.autocomplete,
                value=value,
                errors=[str(e) for e in bound.errors],
                choices=choices,
                maxlength=maxlength if spec.type != "checkbox" else None,
            )
        )
    return views


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


def _common_context(request: HttpRequest, gate: Gate, *, embed: bool) -> dict[str, Any]:
    return {
        "gate": gate,
        "embed": embed,
        "base_template": _base(embed),
        # The one address search engines should list for the gate, whatever this request
        # carries: the iframe variant, UTM parameters, a lead's personal access token.
        "canonical_url": base_url(request) + reverse("gate-page", kwargs={"slug": gate.slug}),
    }


def _render_form(
    request: HttpRequest, gate: Gate, form: GateForm, *, embed: bool, status: int = 200
) -> HttpResponse:
    context = _common_context(request, gate, embed=embed)
    fields = field_views(form)
    hidden = {name: form[name].value() or "" for name in (*UTM_FIELDS, "referrer", "visitor_id")}
    # A re-rendered form (field errors) keeps its still-valid token: the time the visitor
    # already spent counts towards the minimum fill time.
    posted = form[TOKEN_FIELD].value() if form.is_bound else None
    if not posted or form_token_check(posted, gate_slug=gate.slug) is not TokenVerdict.OK:
        posted = form_token_make(gate_slug=gate.slug)
    hidden[TOKEN_FIELD] = posted
    context.update(
        form=form,
        fields=fields,
        hidden=hidden,
        honeypot=HONEYPOT,
        error_fields=[f for f in fields if f.errors],
        non_field_errors=form.non_field_errors(),
        show_form=True,
    )
    return render(request, "forms_app/gate.html", context, status=status)


def _render_content(
    request: HttpRequest, gate: Gate, access: Access | None, token: str, *, embed: bool
) -> HttpResponse:
    context = _common_context(request, gate, embed=embed)
    query = f"?{urlencode({'t': token})}" if token else ""
    files = [
        {
            "key": f.key,
            "title": f.title,
            "href": reverse("gate-file", kwargs={"slug": gate.slug, "key": f.key}) + query,
            "read_href": (
                reverse("pdf-reader", kwargs={"slug": gate.slug, "key": f.key}) + query
                if f.readable_inline
                else ""
            ),
        }
        for f in gate.files.all()
    ]
    context.update(
        show_form=False,
        sections=list(gate.sections.all()),
        files=files,
        just_unlocked=bool(access is not None and request.GET.get("t")),
        confirm_notice=bool(access is not None and request.GET.get(CONFIRM_NOTICE) == "1"),
        # The visitor gave their name and email under the form's notice: the tracker may
        # run even with Global Privacy Control or Do Not Track on.
        identified=access is not None,
    )
    return render(request, "forms_app/gate.html", context)


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


# --- the tracked download ------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def gate_file(request: HttpRequest, slug: str, key: str) -> HttpResponseBase:
    gate = gate_get_active(slug=slug)
    if gate is None:
        return _not_found(request)
    with translation.override(gate.language):
        return _gate_file_answer(request, gate, key)


def _gate_file_answer(request: HttpRequest, gate: Gate, key: str) -> HttpResponseBase:
    gate_file_row: GateFile | None = next((f for f in gate.files.all() if f.key == key), None)
    if gate_file_row is None:
        return _not_found(request)
    access, _token = access_for(request, gate)
    if gate.is_gated and access is None:
        response = render(
            request,
            "forms_app/file_forbidden.html",
            {"gate": gate, "file": gate_file_row, "base_template": _base(False)},
            status=403,
        )
        return _private(response)

    # Open the file before recording the download: a missing upload is a 404, not a
    # download that never happened.
    served: HttpResponseBase
    if gate_file_row.upload:
        try:
            handle = gate_file_row.upload.open("rb")
        except FileNotFoundError:
            return _not_found(request)
        filename = os.path.basename(gate_file_row.upload.name or "") or f"{key}.bin"
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        served = FileResponse(
            handle, as_attachment=False, filename=filename, content_type=content_type
        )
    elif gate_file_row.url:
        served = HttpResponseRedirect(gate_file_row.url)
    else:
        return _not_found(request)

    new_visitor = False
    if access is not None:
        visitor_id = access.visitor_id
    else:
        cookie_vid = visitor_id_from(request)
        new_visitor = cookie_vid is None
        visitor_id = cookie_vid or uuid.uuid4()
    if request.method == "GET":
        # Server-side, so it counts even when the tracker is blocked. The token is left
        # out of the recorded URL: it grants access and must not sit in event rows.
        events_ingest(
            visitor_id=visitor_id,
            events=[
                NewEvent(
                    id=uuid.uuid4(),
                    type="download",
                    gate_id=gate.id,
                    file_key=gate_file_row.key,
                    url=request.build_absolute_uri(request.path),
                )
            ],
            source="server",
        )
    if new_visitor:
        _set_visitor_cookie(served, request, visitor_id)
    return _private(served)
