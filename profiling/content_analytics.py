"""Content analytics: how far a gate's readers get, section by section and page by page.

For one gate over an optional time range (events at or after `since`, before `until`):

- readers: distinct visitors whose summed active time (the `duration_ms` of their
  `section_view` heartbeats) on the section or PDF page is above zero;
- median active time per reader: PostgreSQL's percentile_cont(0.5) over those sums;
- reach: readers / the visitors who had any event on the gate in the range (the
  drop-off: a page view, a form view, a section read all count as having come);
- read: readers whose sum reached the read threshold (read_threshold_for);
- hot leads: leads that are hot now or ever became hot (a grade change to hot), counted
  by lead over all their devices, and which sections and pages they read.

Sections come in the gate's order; PDF pages (a `section_view` whose `file_key` is one of
the gate's files and whose `section_key` is "p<N>") are grouped under their file, in the
files' order and by page number.

Two statements, both starting from the (gate, type, occurred_at) index: one aggregates
the section reads per key (per visitor, then per key, in SQL), the other counts the
gate's visitors and hot leads. Python only orders and formats what they return, which
is one row per section or page, never per visitor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from forms_app.models import Gate, GateFile, Section
from forms_app.reading import read_threshold_ms
from profiling.models import Event, EventType, GradeChange, Lead

SECTION = "section"
PAGE = "page"
# "p1" .. "p9999": the page keys the PDF reader sends (1-based).
PAGE_KEY_SQL = "^p[1-9][0-9]{0,3}$"
# Pages nobody reached are listed as zeros up to the last page someone read (so the
# drop-off shows the gap), for documents of up to this many pages; past it only the
# pages that were read are listed.
MAX_FILLED_PAGES = 300
WORK_MEM = "64MB"


def read_threshold_for(*, gate: Gate, section: Section | None = None) -> int:
    """The active time after which a section (or, with `section` None, a PDF page)
    counts as read: scoring's threshold (forms_app/reading.py), so that a section this
    report counts as read is one that scores. A PDF page has no words: the gate minimum."""
    return read_threshold_ms(min_dwell_ms=gate.min_dwell_ms, words=section.words if section else 0)


@dataclass(frozen=True)
class ContentItem:
    kind: str  # SECTION or PAGE
    key: str  # the section key, or "p<N>" for a page
    title: str
    file_key: str  # the file a page belongs to; "" for a section
    file_title: str
    page: int | None
    readers: int
    median_active_ms: int | None
    reach: float | None  # readers / the gate's visitors
    read: int
    read_share: float | None  # read / the gate's visitors
    read_threshold_ms: int
    hot_leads: int  # hot leads that read it (reached the threshold)
    hot_share: float | None  # hot_leads / the hot leads who came to the gate
    hot_rank: int | None = None  # 1 = read by the most hot leads; None if by none

    @property
    def label(self) -> str:
        return f"{self.file_title}, {self.title}" if self.kind == PAGE else self.title


@dataclass(frozen=True)
class FilePages:
    key: str
    title: str
    pages: list[ContentItem]


@dataclass(frozen=True)
class ContentReport:
    gate: Gate
    since: datetime | None
    until: datetime | None
    visitors: int  # distinct visitors with any event on the gate in the range
    hot_leads: int  # hot leads among them
    sections: list[ContentItem]
    files: list[FilePages]

    @property
    def items(self) -> list[ContentItem]:
        """Sections, then each file's pages: the rows of the table and the CSV."""
        return [*self.sections, *(p for f in self.files for p in f.pages)]

    @property
    def hot_ranking(self) -> list[ContentItem]:
        """What the hot leads read most, most read first (sections and pages)."""
        return sorted(
            (i for i in self.items if i.hot_rank is not None),
            key=lambda i: i.hot_rank or 0,
        )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _table(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _time_filter(since: datetime | None, until: datetime | None) -> tuple[str, dict[str, Any]]:
    sql, params = "", {}
    if since is not None:
        sql += " AND e.occurred_at >= %(since)s"
        params["since"] = since
    if until is not None:
        sql += " AND e.occurred_at < %(until)s"
        params["until"] = until
    return sql, params


# Hot now, or hot once (a grade change to hot: decay may have cooled the lead since).
_IS_HOT = (
    "(l.grade = 'hot' OR EXISTS (SELECT 1 FROM {changes} g "
    "WHERE g.lead_id = l.id AND g.grade = 'hot'))"
)


def _read_stats(
    *,
    gate: Gate,
    time_sql: str,
    params: dict[str, Any],
    section_keys: Sequence[str],
    thresholds: Sequence[int],
    page_threshold: int,
    file_keys: Sequence[str],
) -> dict[tuple[int, int], tuple[int, float | None, int, int]]:
    """(f, n) -> (readers, median active ms, read, hot leads that read), where f is 0 and
    n the 1-based position in `section_keys` for a section, or f the 1-based position in
    `file_keys` and n the page number for a page.

    Small integers instead of the text keys: grouping and sorting half a million rows on
    them is several times faster than on (file_key, section_key).

    One row per visitor and key: the lead is in the grouping only to carry it along. All
    of a visitor's events carry the visitor's lead (the ingest statement reads it under
    the visitor's row lock; identify, merge and erasure move a visitor's events together,
    in one transaction), so it adds no rows, and a second grouping by visitor alone would
    only add time."""
    events, leads, changes = _table(Event), _table(Lead), _table(GradeChange)
    hot = _IS_HOT.format(changes=changes)
    threshold = "CASE WHEN x.f = 0 THEN (%(thresholds)s::bigint[])[x.n] ELSE %(page_threshold)s END"
    sql = f"""
        WITH per_visitor AS MATERIALIZED (
            SELECT k.f, k.n, e.visitor_id, e.lead_id, sum(e.duration_ms)::bigint AS active_ms
            FROM {events} e
            CROSS JOIN LATERAL (
                SELECT CASE WHEN e.file_key = ''
                            THEN 0 ELSE array_position(%(files)s::text[], e.file_key::text)
                       END AS f,
                       CASE WHEN e.file_key = ''
                            THEN array_position(%(sections)s::text[], e.section_key::text)
                            ELSE substring(e.section_key from 2)::int
                       END AS n
            ) k
            WHERE e.gate_id = %(gate)s AND e.type = %(section_view)s {time_sql}
              AND e.duration_ms > 0
              AND ((e.file_key = '' AND e.section_key = ANY(%(sections)s::text[]))
                   OR (e.file_key = ANY(%(files)s::text[]) AND e.section_key ~ %(page_key)s))
            GROUP BY k.f, k.n, e.visitor_id, e.lead_id
        ),
        per_hot_lead AS (
            SELECT x.f, x.n, x.lead_id, sum(x.active_ms)::bigint AS active_ms
            FROM per_visitor x JOIN {leads} l ON l.id = x.lead_id
            WHERE x.lead_id IS NOT NULL AND {hot}
            GROUP BY x.f, x.n, x.lead_id
        ),
        readers AS (
            SELECT x.f, x.n, count(*) AS readers,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY x.active_ms) AS median_ms,
                   count(*) FILTER (WHERE x.active_ms >= {threshold}) AS read
            FROM per_visitor x
            GROUP BY x.f, x.n
        ),
        hot_readers AS (
            SELECT x.f, x.n, count(*) AS hot_read
            FROM per_hot_lead x
            WHERE x.active_ms >= {threshold}
            GROUP BY x.f, x.n
        )
        SELECT r.f, r.n, r.readers, r.median_ms, r.read, coalesce(h.hot_read, 0)
        FROM readers r LEFT JOIN hot_readers h ON h.f = r.f AND h.n = r.n
    """  # noqa: S608 (table names and fixed fragments; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                **params,
                "gate": gate.pk,
                "section_view": EventType.SECTION_VIEW.value,
                "sections": list(section_keys),
                "thresholds": list(thresholds),
                "files": list(file_keys),
                "page_key": PAGE_KEY_SQL,
                "page_threshold": page_threshold,
            },
        )
        return {
            (int(f), int(n)): (int(readers), median, int(read), int(hot_read))
            for f, n, readers, median, read, hot_read in cursor.fetchall()
        }


def _audience(*, gate: Gate, time_sql: str, params: dict[str, Any]) -> tuple[int, int]:
    """The gate's visitors in the range (any event type), and the hot leads among them."""
    events, leads, changes = _table(Event), _table(Lead), _table(GradeChange)
    hot = _IS_HOT.format(changes=changes)
    # Naming every type lets PostgreSQL scan the (gate, type, occurred_at) index one
    # type at a time, each a range on occurred_at.
    sql = f"""
        SELECT count(DISTINCT s.visitor_id), count(DISTINCT s.lead_id) FILTER (WHERE s.hot)
        FROM (
            SELECT seen.visitor_id, seen.lead_id, coalesce({hot}, false) AS hot
            FROM (
                SELECT DISTINCT e.visitor_id, e.lead_id
                FROM {events} e
                WHERE e.gate_id = %(gate)s AND e.type = ANY(%(types)s) {time_sql}
            ) seen
            LEFT JOIN {leads} l ON l.id = seen.lead_id
        ) s
    """  # noqa: S608 (table names and fixed fragments; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "gate": gate.pk, "types": list(EventType.values)})
        visitors, hot_leads = cursor.fetchone() or (0, 0)
    return int(visitors or 0), int(hot_leads or 0)


def _page_numbers(seen: set[int]) -> list[int]:
    if not seen:
        return []
    last = max(seen)
    return list(range(1, last + 1)) if last <= MAX_FILLED_PAGES else sorted(seen)


def _ranked(items: list[ContentItem]) -> Iterator[ContentItem]:
    """Number the items the hot leads read, most hot readers first (ties: earlier in the
    content first, so the ranking is stable)."""
    order = sorted(
        (i for i, item in enumerate(items) if item.hot_leads > 0),
        key=lambda i: (-items[i].hot_leads, i),
    )
    rank = {index: position + 1 for position, index in enumerate(order)}
    for i, item in enumerate(items):
        yield dataclasses.replace(item, hot_rank=rank.get(i))


def gate_content_report(
    *, gate: Gate, since: datetime | None = None, until: datetime | None = None
) -> ContentReport:
    """The gate's content analytics over [since, until) (either end open when None)."""
    sections = list(Section.objects.filter(gate=gate).order_by("position", "id"))
    files = list(GateFile.objects.filter(gate=gate).order_by("position", "id"))
    thresholds = {s.key: read_threshold_for(gate=gate, section=s) for s in sections}
    page_threshold = read_threshold_for(gate=gate)
    time_sql, params = _time_filter(since, until)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Compiling these aggregates costs more than it saves (as for the dashboard).
            cursor.execute("SET LOCAL jit = off")
            # The per-visitor sums and the medians' sorts stay in memory instead of
            # spilling to disk (a gate with half a million section views spilled ~40 MB).
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        stats = _read_stats(
            gate=gate,
            time_sql=time_sql,
            params=params,
            section_keys=[sec.key for sec in sections],
            thresholds=[thresholds[sec.key] for sec in sections],
            page_threshold=page_threshold,
            file_keys=[f.key for f in files],
        )
        visitors, hot_leads = _audience(gate=gate, time_sql=time_sql, params=params)

    def item(
        kind: str,
        key: str,
        title: str,
        at: tuple[int, int],
        file: GateFile | None,
        threshold: int,
    ) -> ContentItem:
        readers, median, read, hot = stats.get(at, (0, None, 0, 0))
        return ContentItem(
            kind=kind,
            key=key,
            title=title,
            file_key=file.key if file else "",
            file_title=file.title if file else "",
            page=at[1] if file else None,
            readers=readers,
            median_active_ms=None if median is None else round(median),
            reach=_ratio(readers, visitors),
            read=read,
            read_share=_ratio(read, visitors),
            read_threshold_ms=threshold,
            hot_leads=hot,
            hot_share=_ratio(hot, hot_leads),
        )

    section_items = [
        item(SECTION, s.key, s.title, (0, n), None, thresholds[s.key])
        for n, s in enumerate(sections, start=1)
    ]
    file_pages: list[tuple[GateFile, list[ContentItem]]] = []
    for f_n, f in enumerate(files, start=1):
        seen = {n for (f_at, n) in stats if f_at == f_n}
        pages = [
            item(PAGE, f"p{n}", f"Page {n}", (f_n, n), f, page_threshold)
            for n in _page_numbers(seen)
        ]
        file_pages.append((f, pages))

    ranked = list(_ranked([*section_items, *(p for _, pages in file_pages for p in pages)]))
    section_items, rest = ranked[: len(section_items)], ranked[len(section_items) :]
    files_out = []
    for f, pages in file_pages:
        files_out.append(FilePages(key=f.key, title=f.title, pages=rest[: len(pages)]))
        rest = rest[len(pages) :]
    return ContentReport(
        gate=gate,
        since=since,
        until=until,
        visitors=visitors,
        hot_leads=hot_leads,
        sections=section_items,
        files=files_out,
    )


# The columns of a content CSV, in order: the same file from the API and the workspace.
CONTENT_CSV_COLUMNS = (
    "kind",
    "file",
    "key",
    "title",
    "readers",
    "reach",
    "median_active_ms",
    "read",
    "read_share",
    "read_threshold_ms",
    "hot_leads",
    "hot_share",
    "hot_rank",
)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def content_csv_rows(report: ContentReport) -> Iterator[list[Any]]:
    for i in report.items:
        yield [
            i.kind,
            i.file_key,
            i.key,
            i.title,
            i.readers,
            _share(i.reach),
            "" if i.median_active_ms is None else i.median_active_ms,
            i.read,
            _share(i.read_share),
            i.read_threshold_ms,
            i.hot_leads,
            _share(i.hot_share),
            "" if i.hot_rank is None else i.hot_rank,
        ]
