"""The model case's content: a fibre company's e-book ("vbook") and its network map.

Used by `manage.py demo`. The network map is a real multi-page PDF with an outline
(forms_app/demo/pdf.py), read inline on the gate and downloadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forms_app.demo.pdf import MAP_CHAPTERS, network_map_pdf

__all__ = ["MAP_CHAPTERS", "network_map_pdf"]

GATE_SLUG = "network-vbook"
MAP_FILE_KEY = "network-map"
MAP_FILE_NAME = "network-map.pdf"

GATE = {
    "slug": GATE_SLUG,
    "title": "Reliable connectivity: the e-book",
    "stage": "interest",
    "headline": "Your business runs on its network. Here is how to keep it running.",
    "description": (
        "Six short chapters on what downtime really costs, how redundant fibre paths "
        "work, and how to move to fibre without a day offline.\n\n"
        "Inside: our network map, so you can check whether your building is already on "
        "the Brightline fibre ring."
    ),
    "subscribe_label": "Send me new articles about business connectivity",
    "submit_label": "Get the e-book",
    "min_dwell_ms": 5000,
    "is_active": True,
}


@dataclass(frozen=True)
class DemoSection:
    key: str
    title: str
    body: str
    topics: list[str] = field(default_factory=list)


SECTIONS: list[DemoSection] = [
    DemoSection(
        "why-fiber",
        "1. Why fibre, why now",
        "Ten years ago a business line was for email and the odd file transfer. Today "
        "the phone system, the point of sale, the CRM, the video calls and the backups "
        "all share one connection, and most of them live in someone else's data centre."
        "\n\n"
        "Copper and cable were built for a world that downloads. Fibre is symmetrical: "
        "uploading a 2 GB design file or a nightly backup takes as long as downloading "
        "it, and the line does not slow down when the neighbours get home.\n\n"
        "This e-book walks through the five questions we hear most from operations and "
        "IT leads before they switch, one short chapter each.",
        ["fiber", "connectivity-basics"],
    ),
    DemoSection(
        "outages-cost",
        "2. What an outage really costs",
        "Industry surveys put the cost of an hour of downtime for a mid-sized company "
        "well above what a year of a premium business line costs. The invoice is the "
        "smallest part: staff sit idle, orders go to a competitor, and the support "
        "queue fills up with people who could not reach you.\n\n"
        "A quick way to estimate your own number: multiply the people who stop working "
        "when the network is down by their loaded hourly cost, then add the revenue that "
        "normally passes through your systems in an hour. Most teams are surprised.\n\n"
        "The rest of this book is about making that hour rare, short, and ideally "
        "invisible.",
        ["downtime", "business-continuity"],
    ),
    DemoSection(
        "redundancy",
        "3. Redundancy: two paths, not two promises",
        "A second line from the same provider, in the same duct, down the same street, "
        "is not redundancy. The backhoe that cuts one cuts both.\n\n"
        "Real resilience means physically diverse paths: two entries into the building, "
        "two routes to two different points of presence, and a network that reroutes "
        "around a cut in milliseconds. On a fibre ring, traffic simply goes the other "
        "way round.\n\n"
        "Ask any provider for a diverse-path diagram of your site. If they cannot draw "
        "one, you do not have it.",
        ["redundancy", "network-design"],
    ),
    DemoSection(
        "latency",
        "4. Latency: the number nobody puts on the brochure",
        "Bandwidth is how wide the road is; latency is how long the drive takes. Voice, "
        "video calls, remote desktops and trading systems care far more about the second."
        "\n\n"
        "Fibre with short, direct routes to the cloud on-ramps keeps round trips low "
        "and, just as important, steady. Jitter, the variation between one packet and "
        "the next, is what makes a call sound robotic.\n\n"
        "When you compare offers, ask for the round-trip time to the cloud regions you "
        "use and for the jitter commitment in the service-level agreement.",
        ["latency", "cloud", "voice"],
    ),
    DemoSection(
        "security",
        "5. Security starts at the wire",
        "Most security spending goes to firewalls and endpoints, but the connection "
        "itself matters: a dedicated fibre circuit is not shared with other customers "
        "the way a cable segment is.\n\n"
        "Add network-level protection against denial-of-service attacks, which is far "
        "cheaper to absorb in the provider's backbone than on your own link, and "
        "private connections to your cloud providers that never cross the public "
        "internet.\n\n"
        "Checklist: dedicated access, DDoS mitigation upstream, private cloud "
        "interconnects, and a provider that reports incidents to you first.",
        ["security", "ddos"],
    ),
    DemoSection(
        "moving-to-fiber",
        "6. Moving to fibre without a day offline",
        "The fear of the switchover keeps many companies on a line they have outgrown. "
        "It does not need to be a big-bang weekend.\n\n"
        "Run the new circuit in parallel with the old one, move one service at a time "
        "(guest Wi-Fi first, then backups, then voice, then everything else), and keep "
        "the old line as a fallback for the first month. Most sites are fully moved in "
        "two weeks without anyone noticing.\n\n"
        "First step: check whether your building is already on our network. The "
        "network map, under Downloads, shows the ring, the business parks it reaches and "
        "the buildings already on it.",
        ["migration", "fiber"],
    ),
]

MAP_FILE_TITLE = "Network map (PDF)"
