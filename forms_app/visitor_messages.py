"""What a visitor reads when the gate form refuses an input: plain words, the same on the
hosted page, in the iframe and from the public submission API (the embedded form shows
the API's messages next to their fields). Never a validation library's own wording: it
is written for developers ("The part after the @-sign is not valid...")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# The limits are in the wording (translators see whole sentences); keep them in step.
NAME_MAX = 200
EMAIL_MAX = 254
ANSWER_MAX = 500

NAME_REQUIRED = _("Enter your name.")
NAME_TOO_LONG = _("Enter a name of at most 200 characters.")
NAME_CHARACTERS = _("Please use letters, spaces and punctuation only.")
EMAIL_REQUIRED = _("Enter your email address, like name@example.com.")
EMAIL_INVALID = _("Enter an email address like name@example.com.")
EMAIL_TOO_LONG = _("Enter an email address of at most 254 characters.")
CONSENT_REQUIRED = _("Tick the box to agree before you continue.")
ANSWER_TOO_LONG = _("Keep your answer to at most 500 characters.")
