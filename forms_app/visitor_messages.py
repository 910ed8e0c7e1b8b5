"""What a visitor reads when the gate form refuses an input: plain words, the same on the
hosted page, in the iframe and from the public submission API (the embedded form shows
the API's messages next to their fields). Never a validation library's own wording: it
is written for developers ("The part after the @-sign is not valid...")."""

from __future__ import annotations

NAME_MAX = 200
EMAIL_MAX = 254
ANSWER_MAX = 500

NAME_REQUIRED = "Enter your name."
NAME_TOO_LONG = f"Enter a name of at most {NAME_MAX} characters."
NAME_CHARACTERS = "Please use letters, spaces and punctuation only."
EMAIL_REQUIRED = "Enter your email address, like name@example.com."
EMAIL_INVALID = "Enter an email address like name@example.com."
EMAIL_TOO_LONG = f"Enter an email address of at most {EMAIL_MAX} characters."
CONSENT_REQUIRED = "Tick the box to agree before you continue."
ANSWER_TOO_LONG = f"Keep your answer to at most {ANSWER_MAX} characters."
