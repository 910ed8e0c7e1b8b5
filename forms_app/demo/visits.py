"""The demo history's visits, made up: who came, from where, and what they did.

No database writes: the planner reads the gate's sections and files, and lists the
events, visitors and leads that history.py then writes and scores. A weekday rhythm
with traffic growing over the period, newsletter days and paid campaigns
(forms_app/demo/people.py); each visitor a page view, mostly a form view, sometimes a
first chapter read; about one in ten submits the form and becomes a lead, who then reads
a few sections or most of them, on this visit and later ones, and may download the map.
Section reads are sent as the tracker sends them: a heartbeat per 15 s of reading, each
with the time read since the previous one.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from forms_app.demo.people import (
    CAMPAIGNS,
    CHANNELS,
    COMPANY_DOMAINS,
    FIRST_NAMES,
    LANDING_PATH,
    LAST_NAMES,
    NEWSLETTER_BOOST,
    RETURN_CHANNELS,
    SITE,
    Channel,
)
from forms_app.models import Gate
from profiling.models import Event

HISTORY_DAYS = 60
# Visits on an ordinary weekday before the channels' boosts, at the start of the period
# (traffic grows by half over the sixty days).
BASE_VISITS = 30
WEEKDAY_FACTOR = (1.0, 1.08, 1.05, 1.0, 0.85, 0.35, 0.28)  # Monday first
# Local hours 0-23: office hours, a lunch dip, some evening reading.
HOUR_WEIGHTS = (
    1, 0, 0, 0, 0, 1, 2, 5, 9, 12, 12, 11, 7, 9, 11, 11, 9, 7, 5, 4, 4, 3, 2, 1,
)  # fmt: skip
HEARTBEAT_MS = 15_000  # the tracker reports a section being read every 15 s of reading
MIN_CHUNK_MS = 5_000
# History ends a little before now: the last minutes belong to the person trying it.
QUIET_BEFORE_NOW = timedelta(minutes=20)


@dataclass
class PlannedLead:
    id: uuid.UUID
    visitor_id: uuid.UUID
    name: str
    email: str
    channel: Channel
    created_at: datetime
    subscribed: bool
    landing_url: str
    # The moments the lead's events reached leadgate and were scored: the submission,
    # then each visit's reading and each download.
    checkpoints: list[datetime] = field(default_factory=list)


class VisitPlanner:
    """Makes up the visits and what happened in them (reads the gate, writes nothing)."""

    def __init__(self, *, gate: Gate, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.until = now - QUIET_BEFORE_NOW
        self.gate = gate
        self.sections = list(gate.sections.order_by("position", "id").values_list("key", flat=True))
        self.file_key = gate.files.order_by("position", "id").values_list("key", flat=True).first()
        self.events: list[Event] = []
        self.visitors: list[tuple[uuid.UUID, datetime, datetime]] = []
        self.leads: list[PlannedLead] = []
        self.emails: set[str] = set()

    # --- small helpers ----------------------------------------------------------------

    def uuid4(self) -> uuid.UUID:
        # Not from the seeded generator: ids must never collide with rows already there
        # (the shape of the history is what is deterministic, not its keys).
        return uuid.uuid4()

    def at_on(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        moment = time(hour, self.rng.randrange(60), self.rng.randrange(60))
        return timezone.make_aware(datetime.combine(day, moment))

    def event(
        self,
        visitor: uuid.UUID,
        kind: str,
        at: datetime,
        *,
        section: str = "",
        file: str = "",
        duration_ms: int | None = None,
        url: str = SITE + LANDING_PATH,
        touch: dict[str, str] | None = None,
        source: str = "tracker",
    ) -> None:
        # The beacon's batch reaches leadgate a moment later; a download is recorded by
        # the server itself as it serves the file.
        lag = (
            timedelta(0)
            if source == "server"
            else timedelta(milliseconds=self.rng.randint(40, 1500))
        )
        self.events.append(
            Event(
                id=self.uuid4(),
                visitor_id=visitor,
                type=kind,
                gate_id=self.gate.id,
                section_key=section,
                file_key=file,
                duration_ms=duration_ms,
                occurred_at=at,
                received_at=at + lag,
                url=url,
                source=source,
                touch=touch or {},
            )
        )

    # --- the days ---------------------------------------------------------------------

    def plan(self) -> None:
        today = timezone.localdate(self.now)
        base_weight = sum(c.weight for c in CHANNELS)
        for days_ago in range(HISTORY_DAYS - 1, -1, -1):
            day = today - timedelta(days=days_ago)
            weights = [c.weight * self.boost(c, day, days_ago) for c in CHANNELS]
            growth = 1.0 + 0.5 * (HISTORY_DAYS - days_ago) / HISTORY_DAYS
            visits = (
                BASE_VISITS
                * WEEKDAY_FACTOR[day.weekday()]
                * growth
                * (sum(weights) / base_weight)
                * self.rng.uniform(0.85, 1.15)
            )
            for _ in range(round(visits)):
                start = self.at_on(day)
                channel = self.rng.choices(CHANNELS, weights=weights)[0]
                if start < self.until:
                    self.visit(channel, start)

    def boost(self, channel: Channel, day: date, days_ago: int) -> float:
        factor = 1.0
        for campaign in CAMPAIGNS:
            running = campaign.end_days_ago <= days_ago <= campaign.start_days_ago
            if campaign.channel == channel.key and running:
                factor *= campaign.boost
        if channel.key == "newsletter":
            sent = day.weekday() == 1 and day.toordinal() // 7 % 2 == 0
            after = day.weekday() == 2 and (day.toordinal() - 1) // 7 % 2 == 0
            factor *= NEWSLETTER_BOOST if sent else NEWSLETTER_BOOST / 2 if after else 0.4
        return factor

    # --- one visitor ------------------------------------------------------------------

    def visit(self, channel: Channel, start: datetime) -> None:
        rng = self.rng
        vid = self.uuid4()
        landing = channel.landing_url()
        self.event(vid, "page_view", start, url=landing, touch=channel.touch())
        converts = rng.random() < channel.convert
        t = start + timedelta(seconds=rng.uniform(2, 12))
        if converts or rng.random() < 0.8:
            self.event(vid, "form_view", t)
        if self.sections and rng.random() < 0.2:
            # The first chapter is open to read before the form: some skim it, some read.
            t = self.read(vid, t, self.sections[0], brief=rng.random() < 0.5)
        if not converts:
            self.visitors.append((vid, start, t))
            return
        t += timedelta(seconds=rng.uniform(25, 150))  # filling in the form
        lead = self.new_lead(vid, channel, t, landing)
        lead.checkpoints.append(t + timedelta(seconds=1))
        last = self.journey(lead, t)
        self.visitors.append((vid, start, last))

    def new_lead(self, vid: uuid.UUID, channel: Channel, at: datetime, landing: str) -> PlannedLead:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = rng.choice(COMPANY_DOMAINS)
        local = rng.choice([f"{first}.{last}", f"{first[0]}.{last}", f"{first}"])
        email = f"{local}@{domain}".lower()
        n = 2
        while email in self.emails:
            email = f"{local}{n}@{domain}".lower()
            n += 1
        self.emails.add(email)
        lead = PlannedLead(
            id=self.uuid4(),
            visitor_id=vid,
            name=f"{first} {last}",
            email=email,
            channel=channel,
            created_at=at,
            subscribed=rng.random() < 0.55,
            landing_url=landing,
        )
        self.leads.append(lead)
        return lead

    def journey(self, lead: PlannedLead, submitted: datetime) -> datetime:
        """What the lead reads and downloads after the form, now and on later visits.
        Returns the time of their last event."""
        rng = self.rng
        kind = rng.choices(("cold", "warm", "hot"), weights=lead.channel.kinds)[0]
        keys = list(self.sections)
        if len(keys) > 2 and rng.random() < 0.3:
            i = rng.randrange(1, len(keys) - 1)  # read two chapters the other way round
            keys[i], keys[i + 1] = keys[i + 1], keys[i]
        if kind == "cold":
            target = min(len(keys), rng.choice((0, 0, 1, 1, 2)))
        elif kind == "warm":
            target = rng.randint(min(3, len(keys)), len(keys))
        else:
            target = rng.randint(min(2, len(keys)), len(keys))
        downloads = kind == "hot" and self.file_key is not None
        sessions = 1 if kind == "cold" and rng.random() < 0.8 else rng.choice((2, 2, 3, 4))
        # Reading spread over the visits, the first visit reading the most.
        first = min(target, rng.randint(1, 4)) if target else 0
        shares = [first] + [0] * (sessions - 1)
        for _ in range(target - first):
            shares[rng.randrange(1, sessions) if sessions > 1 else 0] += 1
        download_in = (0 if rng.random() < 0.3 else sessions - 1) if downloads else None
        t = submitted + timedelta(seconds=rng.uniform(3, 20))
        read = 0
        last = t
        for session in range(sessions):
            if session:
                gap = timedelta(days=rng.expovariate(1 / 4)) + timedelta(hours=6)
                start = self.at_on(timezone.localdate(last + gap))
                if start <= last:
                    start = last + gap
                if start >= self.until:
                    break
                channel = rng.choice(RETURN_CHANNELS)
                self.event(
                    lead.visitor_id,
                    "page_view",
                    start,
                    touch=channel.touch(),
                    url=channel.landing_url(),
                )
                t = start + timedelta(seconds=rng.uniform(3, 15))
                if read and rng.random() < 0.3:  # back to a chapter read before
                    t = self.read(lead.visitor_id, t, keys[rng.randrange(read)])
            for key in keys[read : read + shares[session]]:
                t = self.read(lead.visitor_id, t, key)
            read += shares[session]
            if kind == "cold" and read < len(keys) and rng.random() < 0.5:
                t = self.read(lead.visitor_id, t, keys[read], brief=True)
            if t > lead.checkpoints[-1]:
                # Scored after the visit's reading (the heartbeats arrive in batches;
                # scoring after each section would move a change by minutes at most).
                lead.checkpoints.append(t + timedelta(seconds=1))
            if download_in == session and self.file_key is not None:
                t += timedelta(seconds=rng.uniform(3, 40))
                self.event(
                    lead.visitor_id,
                    "download",
                    t,
                    file=self.file_key,
                    url=f"/g/{self.gate.slug}/files/{self.file_key}",
                    source="server",
                )
                lead.checkpoints.append(t + timedelta(seconds=1))
            last = t
        return last

    def read(self, vid: uuid.UUID, t: datetime, key: str, *, brief: bool = False) -> datetime:
        """A section read: a heartbeat per 15 s of reading, each with the time read since
        the previous one (they add up to the whole read). Returns its end."""
        rng = self.rng
        t += timedelta(seconds=rng.uniform(1, 8))
        if brief:
            ms = rng.randint(1200, MIN_CHUNK_MS - 400)
            end = t + timedelta(milliseconds=ms)
            self.event(vid, "section_view", end, section=key, duration_ms=ms)
            return end
        total = int(min(rng.lognormvariate(10.6, 0.55), 300_000)) + MIN_CHUNK_MS
        elapsed = 0
        while elapsed < total:
            chunk = min(HEARTBEAT_MS, total - elapsed)
            if total - elapsed - chunk < MIN_CHUNK_MS:
                chunk = total - elapsed
            elapsed += chunk
            beat = t + timedelta(milliseconds=elapsed)
            self.event(vid, "section_view", beat, section=key, duration_ms=chunk)
        return t + timedelta(milliseconds=total)
