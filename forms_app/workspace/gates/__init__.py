"""Gate builder: list, create and edit gates with sections, files and questions; a live
preview rendered with the hosted page's own templates; the embed snippet to copy.

Every write goes through forms_app.services.gates.gate_save, so the stage policy and the
friction guard (with its message) apply exactly as in the API; their errors are shown
inline, next to the row that caused them.

Modules: `listing` (the gate list), `editor` (the builder's page and its save), `rows`
(the formsets' rows as posted: kept, in their order, moved without JavaScript),
`preview` (a saved gate's preview and the live one of the form as typed), `actions`
(the editor's delete and "Add it" buttons). The views urls.py routes to are here.
"""

from __future__ import annotations

from forms_app.workspace.gates.actions import gate_origin_allow, gate_remove
from forms_app.workspace.gates.editor import gate_edit
from forms_app.workspace.gates.listing import gate_list
from forms_app.workspace.gates.preview import gate_draft_preview, gate_preview

__all__ = [
    "gate_draft_preview",
    "gate_edit",
    "gate_list",
    "gate_origin_allow",
    "gate_preview",
    "gate_remove",
]
