"""Turning a visitor into a lead (form submissions, Segment identify), proving who owns an
address, and merging leads.

An email typed into a form proves nothing: anyone can type anyone's address. So a lead's
identity (name, consent, subscription) and its links to other leads change only on
proof. A browser (visitor) *proves* an address when the person who reads that mailbox
confirms, from the emailed link, a claim this browser made (an `IdentityProof` row).

Rules:
- One lead per email (any case). A claim with a new email makes the lead, with the
  claimed name and, unless the gate asks for double opt-in, the opt-in (a form consent):
  there is nothing to take over yet.
- A claim with the email of an existing lead, from a browser that has not proven that
  address, changes none of the lead's name, consent or subscription and merges nothing.
  What it asked for is kept on the submission, and the form sends the address a
  confirmation email when the claim would change something (forms_app/services/
  confirmation.py); the owner's click applies it, as a double opt-in consent, and proves
  the browser. A Segment identify has no email to confirm with: its claim on an existing
  lead is simply not applied.
- Behaviour: the claiming browser's events may still count for the lead, so a returning
  prospect on a new device reaches sales at once:
  - a visitor that belongs to no lead joins it (its earlier anonymous events become the
    lead's and are replayed into scoring);
  - a visitor that belongs to another lead moves to this one only if it has proven this
    one, or if this claim has just made this lead and the visitor never proved the one it
    belonged to (a new person at a shared browser). Otherwise it stays where it was and
    its events, earlier and later, keep counting for that lead: an unproven claim never
    moves a browser's behaviour from one known person to another.
  Events already credited to a lead stay with it whatever happens to the visitor.
- Merges: two leads merge automatically only when one browser has proven both
  addresses (when it proves the second one, or when it claims one it proved while
  belonging to another it proved). A marketer can merge any two by hand
  (`POST /api/v1/leads/{id}/merge`). The older lead wins unless the marketer names the
  survivor; the other's visitors, events, submissions and proofs move to it (moved,
  never copied: nothing is counted twice), and its row stays as a pointer
  (`merged_into`) so its email still finds the person. Consent is not carried over: it
  was given for the other address.
"""

from __future__ import annotations

from profiling.services.identity.identify import (
    IdentifyResult,
    TouchSource,
    lead_identify,
    normalise_email,
    visitor_attach,
)
from profiling.services.identity.merge import lead_resolve, leads_merge
from profiling.services.identity.proofs import lead_claim_confirm, visitor_prove

__all__ = [
    "IdentifyResult",
    "TouchSource",
    "lead_claim_confirm",
    "lead_identify",
    "lead_resolve",
    "leads_merge",
    "normalise_email",
    "visitor_attach",
    "visitor_prove",
]
