"""Hosted pages: the landing page, a gate's own page (and its iframe variant), and the
tracked download (the emailed confirmation link's page: forms_app/confirm.py).

The gate page works without JavaScript: a plain POST to the same URL, validated by a
Django form, then a 303 to the content with the access token. `static/leadgate.js`
only adds passive profiling (page and section views) on top.

Modules: `landing` (the landing page), `gate` (a gate's page and its iframe variant: the
GET and the form's POST), `gate_render` (the form's fields, the form and the content as
the templates render them), `download` (the tracked download), `common` (the visitor
and access cookies and the response helpers the pages, and the PDF reader, share).
"""

# The views forms_app/urls.py routes to; the helpers are imported from their modules.
from forms_app.views.download import gate_file
from forms_app.views.gate import gate_embed, gate_page
from forms_app.views.landing import home

__all__ = ["gate_embed", "gate_file", "gate_page", "home"]
