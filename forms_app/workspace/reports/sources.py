"""Where the range's new leads came from: one row per source (social networks, campaigns,
referring sites, direct), with how many reached warm and hot."""

from __future__ import annotations

from dataclasses import dataclass, field

from forms_app.models import Gate
from forms_app.workspace.common import DateRange
from forms_app.workspace.reports.cohort import CohortGroup, cohort_groups
from forms_app.workspace.reports.numbers import rate
from profiling.enrichment import referrer_host, social_network, touch_channel

SOURCE_ROWS = 12
SOCIAL = "social"


@dataclass
class SourceRow:
    label: str
    channel: str
    leads: int = 0
    warm: int = 0
    hot: int = 0

    @property
    def warm_rate(self) -> float | None:
        return rate(self.warm, self.leads)

    @property
    def hot_rate(self) -> float | None:
        return rate(self.hot, self.leads)


@dataclass
class SourcesReport:
    rows: list[SourceRow]
    total: int
    social: int
    social_networks: list[SourceRow] = field(default_factory=list)

    @property
    def social_share(self) -> float | None:
        return rate(self.social, self.total)


def _classify(utm_source: str, utm_medium: str, referrer: str) -> tuple[str, str]:
    """(label, channel) of one group, with profiling.enrichment's classifier."""
    ref = referrer if "://" in referrer or not referrer else f"https://{referrer}"
    network = social_network(utm_source=utm_source, referrer=ref)
    channel = touch_channel(utm_source=utm_source, utm_medium=utm_medium, referrer=ref)
    if network:
        return network, SOCIAL
    if utm_source:
        return utm_source.strip().lower(), channel
    if ref:
        return referrer_host(ref) or "(unknown referrer)", channel
    return "Direct", channel


def sources(
    rng: DateRange, gate: Gate | None = None, groups: list[CohortGroup] | None = None
) -> SourcesReport:
    groups = cohort_groups(rng, gate) if groups is None else groups
    merged: dict[tuple[str, str], SourceRow] = {}
    labels: dict[tuple[str, str, str], tuple[str, str]] = {}
    for g in groups:
        key = (g.src, g.med, g.host)
        if key not in labels:
            labels[key] = _classify(*key)
        label, channel = labels[key]
        row = merged.setdefault((label, channel), SourceRow(label=label, channel=channel))
        row.leads += g.n
        row.warm += g.n if g.reached >= 1 else 0
        row.hot += g.n if g.reached == 2 else 0
    rows = sorted(merged.values(), key=lambda r: (-r.leads, r.label))
    total = sum(r.leads for r in rows)
    social_rows = [r for r in rows if r.channel == SOCIAL]
    return SourcesReport(
        rows=rows,
        total=total,
        social=sum(r.leads for r in social_rows),
        social_networks=social_rows,
    )
