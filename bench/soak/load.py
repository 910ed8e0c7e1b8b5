"""The soak's load generator (bench/soak/__init__.py), a process of its own so that its HTTP
clients never take the GIL from the CRM receiver in the benchmark's process.

    python -m bench.soak.load CONFIG.json

CONFIG: base URL, Origin, gate slug, mode ("blast": as fast as `clients` threads get
answers, for the ingest maximum; "steady": `rate` requests/s on a fixed schedule),
seconds, clients, journey_start (steady: the chance that a thread without a visitor in
progress starts a new one at its next slot), out (where the results go, as JSON).

Every request carries one event with a fresh id. Only the ids answered 202 (with the
whole batch accepted) count as accepted: a refused or unanswered request's id may or may
not be stored, and the soak's checks leave it out. A journey is a fresh visitor who reads
a section anonymously, opts in through the gate's form (a lead), reads three sections
(warm) and downloads the file a `makes_hot` rule matches (hot): two grade changes, two
webhooks.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

EVENTS = "/api/v1/public/events"
TIMEOUT_S = 10.0
SUBMIT_TRIES = 5


@dataclass
class Journey:
    visitor: str
    step: int = 0
    tries: int = 0
    lead: str = ""
    hot_accepted: bool = False


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: list[str] = field(default_factory=list)
    sent: int = 0
    refused: int = 0
    errors: int = 0
    submissions: int = 0
    submissions_refused: int = 0
    journeys: list[Journey] = field(default_factory=list)
    # Accepted events per second since the start (the load actually held, second by second).
    per_second: dict[int, int] = field(default_factory=dict)


def _event(gate: str, kind: str, section: str = "s0") -> dict[str, Any]:
    event: dict[str, Any] = {"id": str(uuid.uuid4()), "gate": gate, "type": kind}
    if kind == "download":
        event["file"] = "network-map"
    else:
        event.update(section=section, duration_ms=5000)
    return event


class Load:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.gate = str(config["gate"])
        self.tally = Tally()
        self.started = time.monotonic()

    def send(self, http: httpx.Client, visitor: str, event: dict[str, Any]) -> bool:
        """One single-event batch; True if it was accepted (202, the event counted)."""
        with self.tally.lock:
            self.tally.sent += 1
        try:
            r = http.post(EVENTS, json={"visitor_id": visitor, "events": [event]})
        except httpx.HTTPError:
            with self.tally.lock:
                self.tally.errors += 1
            return False
        ok = r.status_code == 202 and _accepted_count(r) == 1
        with self.tally.lock:
            if ok:
                self.tally.accepted.append(event["id"])
                second = int(time.monotonic() - self.started)
                self.tally.per_second[second] = self.tally.per_second.get(second, 0) + 1
            else:
                self.tally.refused += 1
        return ok

    def submit(self, http: httpx.Client, journey: Journey) -> bool:
        body = {
            "name": "Soak Visitor",
            "email": f"soak-{journey.visitor}@bench-fibre.com",
            "visitor_id": journey.visitor,
        }
        try:
            r = http.post(f"/api/v1/public/gates/{self.gate}/submissions", json=body)
        except httpx.HTTPError:
            r = None
        with self.tally.lock:
            self.tally.submissions += 1
            if r is None or r.status_code != 201:
                self.tally.submissions_refused += 1
                return False
        journey.lead = str(r.json()["lead_id"])
        return True

    def journey_step(self, http: httpx.Client, journey: Journey) -> bool:
        """Advance the journey by one request; False when it is over (done or given up)."""
        if journey.step == 0:
            self.send(http, journey.visitor, _event(self.gate, "section_view", "s0"))
        elif journey.step == 1:
            if not self.submit(http, journey):
                journey.tries += 1
                return journey.tries < SUBMIT_TRIES  # the same step again, next slot
        elif journey.step in (2, 3, 4):
            section = f"s{journey.step - 1}"
            self.send(http, journey.visitor, _event(self.gate, "section_view", section))
        else:
            journey.hot_accepted = self.send(http, journey.visitor, _event(self.gate, "download"))
            return False
        journey.step += 1
        return True

    def client(self) -> httpx.Client:
        origin = str(self.config["origin"])
        return httpx.Client(
            base_url=str(self.config["base"]), headers={"Origin": origin}, timeout=TIMEOUT_S
        )

    def blast(self) -> None:
        clients = [self.client() for _ in range(int(self.config["clients"]))]
        # The clock starts once the clients are built (an SSL context each: CPU, not load).
        self.started = time.monotonic()
        stop = self.started + float(self.config["seconds"])

        def loop(http: httpx.Client) -> None:
            with http:
                while time.monotonic() < stop:
                    self.send(http, str(uuid.uuid4()), _event(self.gate, "section_view"))

        _threads(loop, clients)

    def steady(self) -> None:
        rate = float(self.config["rate"])
        total = int(rate * float(self.config["seconds"]))
        start_p = float(self.config["journey_start"])
        cursor = [0]
        lock = threading.Lock()
        clients = [self.client() for _ in range(int(self.config["clients"]))]
        t0 = self.started = time.monotonic()

        def loop(http: httpx.Client) -> None:
            journey: Journey | None = None
            rng = random.Random()
            with http:
                while True:
                    with lock:
                        slot = cursor[0]
                        cursor[0] += 1
                    if slot >= total:
                        return
                    # Behind schedule (the server was down): no sleep, the backlog is sent
                    # as fast as the server answers, as browsers retrying would.
                    delay = t0 + slot / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if journey is None and rng.random() < start_p:
                        journey = Journey(visitor=str(uuid.uuid4()))
                        with self.tally.lock:
                            self.tally.journeys.append(journey)
                    if journey is not None:
                        if not self.journey_step(http, journey):
                            journey = None
                    else:
                        self.send(http, str(uuid.uuid4()), _event(self.gate, "section_view"))

        _threads(loop, clients)

    def result(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        t = self.tally
        return {
            "elapsed_s": elapsed,
            "accepted": t.accepted,
            "sent": t.sent,
            "refused": t.refused,
            "errors": t.errors,
            "submissions": t.submissions,
            "submissions_refused": t.submissions_refused,
            "journeys": [
                {"visitor": j.visitor, "lead": j.lead, "step": j.step, "hot": j.hot_accepted}
                for j in t.journeys
            ],
            "per_second": [t.per_second.get(s, 0) for s in range(int(elapsed) + 1)],
        }


def _accepted_count(r: httpx.Response) -> int:
    try:
        return int(r.json().get("accepted", 0))
    except (ValueError, AttributeError, TypeError):
        return 0


def _threads(target: Any, clients: list[httpx.Client]) -> None:
    threads = [threading.Thread(target=target, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main(path: str) -> None:
    config = json.loads(Path(path).read_text())
    load = Load(config)
    if config["mode"] == "blast":
        load.blast()
    else:
        load.steady()
    Path(config["out"]).write_text(json.dumps(load.result()))


if __name__ == "__main__":
    main(sys.argv[1])
