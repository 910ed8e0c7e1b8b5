"""The demo's network map: a multi-page PDF with an outline, written by the demo's
PDF writer (forms_app/demo/pdf_writer.py). Page 1 draws the fibre ring through city nodes
with spurs to business parks; the next pages list the points of presence, the buildings
on net, prices and service levels, as text a reader can search. Its top-level bookmarks
(MAP_CHAPTERS) are the chapters of the reader on the gate. The output is deterministic,
so a second demo run can tell that the stored file is already up to date.
"""

from __future__ import annotations

from collections.abc import Sequence

from forms_app.demo.pdf_writer import Canvas, pdf_document

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


WIDTH, HEIGHT = 842.0, 595.0


def _map_page() -> bytes:
    """Page 1: the fibre ring, its nodes, the business parks and a legend."""
    width, height = WIDTH, HEIGHT
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
    return c.bytes()


# --- The text pages ----------------------------------------------------------------------

POP_ROWS: list[tuple[str, str, str, str]] = [
    ("Harbor City", "Port and old harbour", "2 diverse paths", "0.4 ms"),
    ("Northfield", "University district", "2 diverse paths", "0.6 ms"),
    ("Eastgate", "Retail and logistics", "2 diverse paths", "0.7 ms"),
    ("Riverside", "Offices along the river", "2 diverse paths", "0.5 ms"),
    ("Southport", "Ferry terminal, warehouses", "2 diverse paths", "0.8 ms"),
    ("Westbrook", "Light industry", "2 diverse paths", "0.9 ms"),
    ("Old Town", "City centre, town hall", "2 diverse paths", "0.3 ms"),
]
BUILDINGS: list[tuple[str, str, str]] = [
    ("Airport Park", "Hangar Road 1-40", "14 buildings, fibre in the basement"),
    ("Airport Park", "Cargo Way 2-18", "9 buildings, two building entries"),
    ("Tech Campus North", "Innovation Drive 1-30", "22 buildings, dark fibre available"),
    ("Tech Campus North", "Lab Street 5-11", "4 buildings, data room on site"),
    ("Docklands", "Quay Street 10-88", "31 buildings, two building entries"),
    ("Docklands", "Warehouse Row 1-24", "12 buildings, fibre in the basement"),
    ("Millbrook Estate", "Mill Lane 3-45", "17 buildings, metro extension 2024"),
    ("Canal Quarter", "Lock Street 1-19", "8 buildings, heritage-listed ducts"),
    ("Canal Quarter", "Towpath 2-30", "11 buildings, fibre in the basement"),
    ("Old Town", "Market Square 1-12", "12 buildings, on the ring itself"),
    ("Riverside", "Embankment 20-64", "19 buildings, two building entries"),
    ("Northfield", "College Road 1-50", "26 buildings, campus network peering"),
]
PRICES: list[tuple[str, str, str, str]] = [
    ("Business Fibre 300", "300/300 Mbit/s", "EUR 189 a month", "next business day"),
    ("Business Fibre 1G", "1/1 Gbit/s", "EUR 349 a month", "8 hours"),
    ("Dual Path 1G", "1/1 Gbit/s, two paths", "EUR 590 a month", "4 hours"),
    ("Dual Path 10G", "10/10 Gbit/s, two paths", "EUR 1,490 a month", "4 hours"),
    ("Dark fibre pair", "your own equipment", "on request", "4 hours"),
]
SLA_ROWS: list[tuple[str, str]] = [
    ("Availability, single path", "99.9 % a month (about 43 minutes of downtime at most)"),
    ("Availability, dual path", "99.99 % a month (about 4 minutes at most)"),
    ("Round trip to the core", "under 1 ms from any point of presence"),
    ("Jitter", "under 0.2 ms, measured every minute"),
    ("DDoS mitigation", "included, scrubbed in our backbone"),
    ("Incident reports", "to you first, within 15 minutes"),
]

MAP_CHAPTERS: list[tuple[str, int]] = [
    ("Coverage", 1),
    ("Buildings on net", 3),
    ("Pricing", 5),
    ("Service levels", 6),
]


def _text_page(
    title: str, intro: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]], number: int
) -> bytes:
    """A page with a title, one line of introduction and a table."""
    c = Canvas()
    c.fill(*PAPER)
    c.rect(0, 0, WIDTH, HEIGHT)
    c.fill(*INK)
    c.text(40, 540, title, size=22, bold=True)
    c.fill(*MUTED)
    c.text(40, 516, intro, size=12)
    columns = [40, 230, 450, 640][: len(header)]
    y = 470
    c.fill(*TEAL)
    c.rect(36, y - 8, 770, 26)
    c.fill(1, 1, 1)
    for x, label in zip(columns, header, strict=True):
        c.text(x + 4, y, label, size=11, bold=True)
    for index, row in enumerate(rows):
        y -= 30
        if index % 2:
            c.fill(0.92, 0.95, 0.96)
            c.rect(36, y - 9, 770, 28)
        c.fill(*INK)
        for x, value in zip(columns, row, strict=True):
            c.text(x + 4, y, value, size=10.5)
    c.fill(*MUTED)
    c.text(40, 18, f"Brightline Fibre network map, page {number}. Fictional, for the demo.", size=9)
    return c.bytes()


def network_map_pdf() -> bytes:
    """The demo's network map: six A4-landscape pages in four chapters (MAP_CHAPTERS)."""
    pages = [
        _map_page(),
        _text_page(
            "Coverage: points of presence",
            "Seven points of presence on the ring, each reached by two physically diverse paths.",
            ("Point of presence", "Area", "Paths", "Round trip to core"),
            POP_ROWS,
            2,
        ),
        _text_page(
            "Buildings on net",
            "Business parks and streets already connected: no digging, live in days.",
            ("Business park", "Addresses", "What is there"),
            BUILDINGS[:6],
            3,
        ),
        _text_page(
            "Buildings on net (continued)",
            "Not on the list? Ask us: most buildings within 300 m of the ring are on net in weeks.",
            ("Area", "Addresses", "What is there"),
            BUILDINGS[6:],
            4,
        ),
        _text_page(
            "Pricing",
            "Monthly prices for a 36-month term, installation included on net.",
            ("Service", "Speed", "Price", "Repair time"),
            PRICES,
            5,
        ),
        _text_page(
            "Service levels",
            "What we commit to in the service-level agreement, with credits when we miss it.",
            ("Commitment", "Level"),
            SLA_ROWS,
            6,
        ),
    ]
    return pdf_document(
        pages=pages,
        width=WIDTH,
        height=HEIGHT,
        title="Brightline Fibre network map",
        outline=MAP_CHAPTERS,
    )
