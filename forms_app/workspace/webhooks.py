"""CRM webhook endpoints: create, edit, send a test event, rotate the signing secret,
the delivery log with redeliver, and speed to lead. Writes through
profiling.services.endpoints and profiling.services.delivery; the endpoint service checks
what an endpoint may be (the SSRF guard on the URL included) and its errors are shown
inline."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import add_errors, page, validation_messages
from forms_app.workspace.forms import WebhookForm
from profiling.models import Delivery, WebhookEndpoint
from profiling.selectors import (
    endpoint_deliveries,
    endpoint_delivery_stats,
    endpoint_health,
    endpoint_list,
)
from profiling.services.delivery import delivery_redeliver, delivery_send_test
from profiling.services.endpoints import (
    webhook_endpoint_delete,
    webhook_endpoint_save,
    webhook_secret_retire_previous,
    webhook_secret_rotate,
)

LOG_PAGE_SIZE = 25
# A secret is shown once (on create and on rotation), like Stripe and Svix do; it is
# carried to the next page in the session and popped when shown.
SESSION_SECRET = "workspace_new_secret"


def _endpoint(pk: int) -> WebhookEndpoint:
    endpoint = endpoint_list().filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No webhook with this id.")
    return endpoint


def _save(form: WebhookForm, endpoint: WebhookEndpoint | None = None) -> WebhookEndpoint | None:
    """The endpoint saved from the form, or None with the errors on the form."""
    if not form.is_valid():
        return None
    try:
        return webhook_endpoint_save(endpoint=endpoint, data=dict(form.cleaned_data))
    except ValidationError as exc:
        add_errors(form, validation_messages(exc))
        return None


@marketer_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponseBase:
    status = 200
    form = WebhookForm(initial={"grades": ["hot"], "is_active": True})
    if request.method == "POST":
        form = WebhookForm(request.POST)
        endpoint = _save(form)
        if endpoint is not None:
            request.session[SESSION_SECRET] = {"id": endpoint.pk, "secret": endpoint.secret}
            messages.success(
                request,
                "Webhook added. Copy its signing secret into your CRM now: it is shown only once.",
            )
            return redirect("workspace:webhook", pk=endpoint.pk)
        status = 400
    rows = [
        {
            "endpoint": e,
            "stats": endpoint_delivery_stats(endpoint_id=e.pk),
            "health": endpoint_health(endpoint_id=e.pk),
        }
        for e in endpoint_list()
    ]
    return page(
        request, "webhooks.html", {"rows": rows, "form": form}, section="webhooks", status=status
    )


@marketer_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    endpoint = _endpoint(pk)
    status = 200
    form = WebhookForm(
        initial={
            "name": endpoint.name,
            "url": endpoint.url,
            "grades": endpoint.grades,
            "is_active": endpoint.is_active,
        }
    )
    if request.method == "POST":
        form = WebhookForm(request.POST)
        if _save(form, endpoint) is not None:
            messages.success(request, "Webhook saved.")
            return redirect("workspace:webhook", pk=endpoint.pk)
        status = 400
    secret = None
    shown = request.session.pop(SESSION_SECRET, None)
    if isinstance(shown, dict) and shown.get("id") == endpoint.pk:
        secret = shown.get("secret")
    deliveries = endpoint_deliveries(endpoint_id=endpoint.pk)
    wanted = request.GET.get("status", "")
    if wanted in {"pending", "succeeded", "failed", "skipped"}:
        deliveries = deliveries.filter(status=wanted)
    log = Paginator(deliveries.select_related("lead").defer("payload"), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return page(
        request,
        "webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "secret": secret,
            "stats": endpoint_delivery_stats(endpoint_id=endpoint.pk),
            "health": endpoint_health(endpoint_id=endpoint.pk),
            "log": log,
            "status_filter": wanted,
        },
        section="webhooks",
        status=status,
    )


@marketer_required
@require_POST
def webhook_action(request: HttpRequest, pk: int, action: str) -> HttpResponseBase:
    endpoint = _endpoint(pk)
    if action == "test":
        delivery = delivery_send_test(endpoint=endpoint)
        if delivery.status == "succeeded":
            messages.success(
                request,
                f"Test event delivered: the CRM answered {delivery.last_status_code} in {delivery.last_latency_ms} ms.",
            )
        else:
            why = delivery.last_error or f"HTTP {delivery.last_status_code}"
            messages.error(request, f"Test event not accepted: {why}.")
    elif action == "rotate":
        endpoint = webhook_secret_rotate(endpoint_id=endpoint.pk)
        request.session[SESSION_SECRET] = {"id": endpoint.pk, "secret": endpoint.secret}
        messages.success(
            request,
            "New secret made. Both secrets sign every request until you retire the old one.",
        )
    elif action == "retire":
        if not endpoint.previous_secret:
            messages.error(request, "No rotation under way: nothing to retire.")
        else:
            webhook_secret_retire_previous(endpoint_id=endpoint.pk)
            messages.success(request, "Old secret retired: only the new one signs now.")
    elif action == "delete":
        webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, "Webhook deleted.")
        return redirect("workspace:webhooks")
    else:
        raise Http404("Unknown action.")
    return redirect("workspace:webhook", pk=endpoint.pk)


@marketer_required
@require_POST
def delivery_resend(request: HttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    delivery = Delivery.objects.filter(pk=pk).first()
    if delivery is None:
        raise Http404("No delivery with this id.")
    delivery_redeliver(delivery=delivery)
    messages.success(
        request,
        f"Delivery msg_{delivery.pk.hex[:8]}… queued again (same webhook-id, so the CRM can de-duplicate).",
    )
    return redirect("workspace:webhook", pk=delivery.endpoint_id)
