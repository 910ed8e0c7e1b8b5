"""When a section (or a PDF page) counts as read: the one place the threshold is computed.

Active time only (the tracker counts time at the reader's focus, on a visible, focused,
not idle page). A section counts as read once its summed active time reaches the larger
of the gate's `min_dwell_ms` and a share of the time an ordinary reader needs for its
words: skimming a long chapter in five seconds is not reading it. A PDF page has no word
count yet, so the gate's minimum alone applies to it.

Integer arithmetic only: the SQL rescore (profiling/services/scoring_sql/) computes the
same number with the same steps, `read_threshold_sql`.
"""

from __future__ import annotations

# Silent reading of non-fiction runs at about 200-260 words a minute; 230 is the middle.
WORDS_PER_MINUTE = 230
# A quarter of the expected time: enough to exclude skimming, low enough that a fast
# reader who takes in the section still counts.
READ_SHARE_PERCENT = 25
# The model's default, for events whose gate was deleted.
DEFAULT_MIN_DWELL_MS = 5000


def expected_reading_ms(words: int) -> int:
    return words * 60000 // WORDS_PER_MINUTE


def read_threshold_ms(*, min_dwell_ms: int, words: int) -> int:
    """Active milliseconds after which a section of `words` words counts as read."""
    return max(min_dwell_ms, expected_reading_ms(words) * READ_SHARE_PERCENT // 100)


def read_threshold_sql(min_dwell: str, words: str) -> str:
    """read_threshold_ms() as a PostgreSQL expression over two integer expressions."""
    return (
        f"greatest(({min_dwell})::bigint, ({words})::bigint * 60000 / {WORDS_PER_MINUTE}"
        f" * {READ_SHARE_PERCENT} / 100)"
    )
