"""The model case's content: a fibre company's e-book ("vbook") and its network map.

Used by `manage.py demo`. The network map is a real one-page PDF drawn by a tiny
pure-Python PDF writer (no dependency): title, a dual fibre ring through city nodes,
spurs to business parks and a legend. The output is deterministic, so a second demo run
can tell that the stored file is already up to date.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

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
        "Inside: our network map, so you can check whether your business park is already "
        "on the Brightline fibre ring."
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
        "First step: check whether your business park is already on our network. The "
        "network map, under Downloads, shows the ring and the business parks it reaches.",
        ["migration", "fiber"],
    ),
]

MAP_FILE_TITLE = "Network map (PDF)"


# --- A tiny PDF writer -------------------------------------------------------------------

_KAPPA = 4 * (math.sqrt(2) - 1) / 3  # control-point distance for a circle from 4 Béziers


def _pdf_string(text: str) -> str:
    """A PDF literal string in WinAnsi/Latin-1 with (, ) and \\ escaped."""
    safe = text.encode("latin-1", errors="replace").decode("latin-1")
    escaped = safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"({escaped})"


class Canvas:
    """Just enough of a PDF content stream: colours, lines, rects, circles, text."""

    def __init__(self) -> None:
        self.ops: list[str] = []

    def _n(self, value: float) -> str:
        return f"{value:.2f}".rstrip("0").rstrip(".")

    def fill(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{self._n(r)} {self._n(g)} {self._n(b)} rg")

    def stroke(self, r: float, g: float, b: float) -> None:
        self.ops.append(f"{self._n(r)} {self._n(g)} {self._n(b)} RG")

    def line_width(self, width: float) -> None:
        self.ops.append(f"{self._n(width)} w")

    def dash(self, on: float = 0, off: float = 0) -> None:
        self.ops.append(f"[{self._n(on)} {self._n(off)}] 0 d" if on else "[] 0 d")

    def rect(self, x: float, y: float, w: float, h: float, *, paint: str = "f") -> None:
        self.ops.append(f"{self._n(x)} {self._n(y)} {self._n(w)} {self._n(h)} re {paint}")

    def polyline(self, points: list[tuple[float, float]], *, close: bool = False) -> None:
        (x0, y0), rest = points[0], points[1:]
        path = [f"{self._n(x0)} {self._n(y0)} m"]
        path += [f"{self._n(x)} {self._n(y)} l" for x, y in rest]
        path.append("s" if close else "S")
        self.ops.append(" ".join(path))

    def circle(self, cx: float, cy: float, r: float, *, paint: str = "B") -> None:
        k = r * _KAPPA
        n = self._n
        self.ops.append(
            f"{n(cx + r)} {n(cy)} m "
            f"{n(cx + r)} {n(cy + k)} {n(cx + k)} {n(cy + r)} {n(cx)} {n(cy + r)} c "
            f"{n(cx - k)} {n(cy + r)} {n(cx - r)} {n(cy + k)} {n(cx - r)} {n(cy)} c "
            f"{n(cx - r)} {n(cy - k)} {n(cx - k)} {n(cy - r)} {n(cx)} {n(cy - r)} c "
            f"{n(cx + k)} {n(cy - r)} {n(cx + r)} {n(cy - k)} {n(cx + r)} {n(cy)} c {paint}"
        )

    def text(self, x: float, y: float, text: str, *, size: float = 10, bold: bool = False):
        font = "F2" if bold else "F1"
        self.ops.append(
            f"BT /{font} {self._n(size)} Tf {self._n(x)} {self._n(y)} Td {_pdf_string(text)} Tj ET"
        )

    def bytes(self) -> bytes:
        return "\n".join(self.ops).encode("latin-1")


def pdf_document(*, content: bytes, width: float, height: float, title: str) -> bytes:
    """A valid one-page PDF 1.4 (standard Helvetica fonts, compressed content, xref)."""
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:g} {height:g}] "
            "/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>"
        ).encode(),
        f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode()
        + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        f"<< /Title {_pdf_string(title)} /Producer (leadgate demo) >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return bytes(out)


# --- The network map -------------------------------------------------------------------

# Points of presence on the ring (x, y on an A4-landscape page, label offset).
RING_NODES: list[tuple[str, float, float, float, float]] = [
    ("Harbor City", 420, 430, 14, 6),
    ("Northfield", 560, 395, 14, 4),
    ("Eastgate", 600, 285, 14, -4),
    ("Riverside", 520, 175, 14, -14),
    ("Southport", 370, 160, -70, -16),
    ("Westbrook", 260, 250, -78, -4),
    ("Old Town", 290, 370, -68, 6),
]
# On-net business parks, each connected to a ring node by a metro extension.
PARKS: list[tuple[str, float, float, int]] = [
    ("Airport Park", 700, 330, 2),
    ("Tech Campus North", 610, 470, 1),
    ("Docklands", 440, 80, 4),
    ("Millbrook Estate", 150, 310, 5),
    ("Canal Quarter", 200, 430, 6),
]

TEAL = (0.0, 0.45, 0.50)
TEAL_LIGHT = (0.45, 0.75, 0.78)
INK = (0.12, 0.15, 0.20)
MUTED = (0.40, 0.44, 0.50)
PAPER = (0.96, 0.97, 0.98)
ACCENT = (0.93, 0.45, 0.15)


def network_map_pdf() -> bytes:
    """The demo's network map: one A4-landscape page with a fibre ring and its nodes."""
    width, height = 842.0, 595.0
    c = Canvas()
    # Page background and map panel.
    c.fill(*PAPER)
    c.rect(0, 0, width, height)
    c.fill(1, 1, 1)
    c.stroke(0.85, 0.87, 0.90)
    c.line_width(1)
    c.rect(40, 40, 762, 440, paint="B")

    # Title block.
    c.fill(*INK)
    c.text(40, 540, "Brightline Fibre: metro network map", size=24, bold=True)
    c.fill(*MUTED)
    c.text(40, 515, "Dual-path fibre ring, points of presence and on-net business parks.", size=12)

    # A faint river across the map, for orientation.
    c.stroke(0.78, 0.86, 0.95)
    c.line_width(10)
    c.polyline([(60, 120), (200, 170), (330, 205), (470, 230), (640, 215), (780, 250)])

    ring = [(x, y) for _, x, y, _, _ in RING_NODES]
    # Outer path of the ring (primary) and an inner, physically diverse path (dashed).
    c.stroke(*TEAL)
    c.line_width(6)
    c.polyline(ring, close=True)
    cx = sum(x for x, _ in ring) / len(ring)
    cy = sum(y for _, y in ring) / len(ring)
    inner = [(cx + (x - cx) * 0.86, cy + (y - cy) * 0.86) for x, y in ring]
    c.stroke(*TEAL_LIGHT)
    c.line_width(3)
    c.dash(8, 5)
    c.polyline(inner, close=True)
    for (x, y), (ix, iy) in zip(ring, inner, strict=True):
        c.polyline([(x, y), (ix, iy)])
    c.dash()

    # Metro extensions to the business parks.
    c.stroke(*ACCENT)
    c.line_width(2.5)
    for _, px, py, node in PARKS:
        _, nx, ny, _, _ = RING_NODES[node]
        c.polyline([(nx, ny), (px, py)])

    # Core data centre in the middle of the ring.
    c.fill(*INK)
    c.rect(cx - 9, cy - 9, 18, 18)
    c.text(cx - 38, cy - 24, "Core data centre", size=9, bold=True)

    # Nodes and labels.
    c.line_width(2.5)
    for name, x, y, dx, dy in RING_NODES:
        c.fill(1, 1, 1)
        c.stroke(*TEAL)
        c.circle(x, y, 9)
        c.fill(*TEAL)
        c.circle(x, y, 4, paint="f")
        c.fill(*INK)
        c.text(x + dx, y + dy, name, size=11, bold=True)
    for name, px, py, _ in PARKS:
        c.fill(*ACCENT)
        c.rect(px - 6, py - 6, 12, 12)
        c.fill(*INK)
        c.text(px + 11, py - 4, name, size=10)

    # Legend.
    lx, ly = 590, 52
    c.fill(1, 1, 1)
    c.stroke(0.80, 0.83, 0.87)
    c.line_width(1)
    c.rect(lx, ly, 200, 112, paint="B")
    c.fill(*INK)
    c.text(lx + 12, ly + 94, "Legend", size=11, bold=True)
    rows = [ly + 78, ly + 62, ly + 46, ly + 30, ly + 14]
    c.stroke(*TEAL)
    c.line_width(5)
    c.polyline([(lx + 12, rows[0]), (lx + 42, rows[0])])
    c.stroke(*TEAL_LIGHT)
    c.line_width(3)
    c.dash(6, 4)
    c.polyline([(lx + 12, rows[1]), (lx + 42, rows[1])])
    c.dash()
    c.stroke(*ACCENT)
    c.line_width(2.5)
    c.polyline([(lx + 12, rows[2]), (lx + 42, rows[2])])
    c.fill(1, 1, 1)
    c.stroke(*TEAL)
    c.circle(lx + 27, rows[3], 6)
    c.fill(*ACCENT)
    c.rect(lx + 21, rows[4] - 6, 12, 12)
    c.fill(*INK)
    labels = [
        "Core fibre ring (primary path)",
        "Diverse second path",
        "Metro extension",
        "Point of presence",
        "On-net business park",
    ]
    for y, label in zip(rows, labels, strict=True):
        c.text(lx + 52, y - 3, label, size=9)

    # Footer.
    c.fill(*MUTED)
    c.text(
        40,
        18,
        "Illustrative map for the leadgate demo: Brightline Fibre and its network are fictional.",
        size=9,
    )
    return pdf_document(
        content=c.bytes(), width=width, height=height, title="Brightline Fibre network map"
    )
