"""Who visits the demo's e-book, and from where: names, companies and traffic channels.

Plain data for visits.py. The companies' domains end in `.example` (reserved, RFC 2606):
made-up leads must never name a real company, and no address here can receive mail.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES = [
    "Ada", "Amara", "Ben", "Carla", "Chen", "Dario", "Elif", "Emma", "Farid", "Fatima",
    "Greta", "Hannah", "Hugo", "Ines", "Ivan", "Jonas", "Julia", "Kai", "Lea", "Leon",
    "Lina", "Luca", "Maya", "Marek", "Mila", "Nadia", "Noah", "Olga", "Omar", "Paula",
    "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Tom", "Vera", "Yusuf",
]  # fmt: skip
LAST_NAMES = [
    "Adler", "Bauer", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haas",
    "Ito", "Jansen", "Kaya", "Keller", "Kowalski", "Lange", "Larsen", "Meyer", "Moreau",
    "Nowak", "Okafor", "Olsen", "Patel", "Petrov", "Quinn", "Rossi", "Sato", "Schmidt",
    "Silva", "Novak", "Vogel", "Walsh", "Weber", "Yilmaz", "Zimmer",
]  # fmt: skip
# Work addresses only: the profile infers the company from the domain. No free-mail
# domain: a made-up gmail.com address may well be someone's.
COMPANY_DOMAINS = [
    "harbor-logistics.example", "northfield-clinic.example", "eastgate-foods.example",
    "riverside-law.example", "southport-hotels.example", "westbrook-dental.example",
    "oldtown-bakery.example", "airportpark-cargo.example", "canal-design.example",
    "millbrook-engineering.example", "docklands-media.example", "techcampus-labs.example",
    "brightside-insurance.example", "metro-architects.example", "summit-accounting.example",
    "lakeview-school.example", "greenline-energy.example", "polar-retail.example",
]  # fmt: skip

SITE = "https://www.brightline-fibre.example"
LANDING_PATH = "/business/fibre-e-book"


@dataclass(frozen=True)
class Channel:
    """Where a visit came from, as the tracker and the form report it."""

    key: str
    weight: float  # share of the visits on an ordinary day
    convert: float  # chance that a visit ends in a submission
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    referrer: str = ""
    # Relative chances of the lead becoming (cold, warm, hot): social clicks read less,
    # newsletter readers and a partner's tenants more.
    kinds: tuple[int, int, int] = (45, 35, 20)
    social: bool = False

    def touch(self) -> dict[str, str]:
        """The event's `touch` JSON: only the keys that were given."""
        given = {
            "utm_source": self.utm_source,
            "utm_medium": self.utm_medium,
            "utm_campaign": self.utm_campaign,
            "referrer": self.referrer,
        }
        return {k: v for k, v in given.items() if v}

    def landing_url(self) -> str:
        query = "&".join(
            f"{k}={v}"
            for k, v in (
                ("utm_source", self.utm_source),
                ("utm_medium", self.utm_medium),
                ("utm_campaign", self.utm_campaign),
            )
            if v
        )
        return SITE + LANDING_PATH + (f"?{query}" if query else "")


LINKEDIN_CAMPAIGN = "fibre-ebook-launch"
GOOGLE_CAMPAIGN = "business-fibre"
FACEBOOK_CAMPAIGN = "smb-fibre"

CHANNELS: list[Channel] = [
    Channel("google", 22, 0.08, referrer="https://www.google.com/"),
    Channel(
        "google-ads",
        9,
        0.09,
        utm_source="google",
        utm_medium="cpc",
        utm_campaign=GOOGLE_CAMPAIGN,
    ),
    Channel(
        "newsletter",
        7,
        0.17,
        utm_source="newsletter",
        utm_medium="email",
        kinds=(30, 42, 28),
    ),
    Channel(
        "linkedin-ads",
        10,
        0.10,
        utm_source="linkedin",
        utm_medium="paid-social",
        utm_campaign=LINKEDIN_CAMPAIGN,
        kinds=(52, 33, 15),
        social=True,
    ),
    Channel(
        "linkedin",
        5,
        0.07,
        referrer="https://www.linkedin.com/feed/",
        kinds=(50, 35, 15),
        social=True,
    ),
    Channel("x", 6, 0.06, referrer="https://t.co/", kinds=(60, 28, 12), social=True),
    Channel(
        "facebook",
        6,
        0.05,
        utm_source="facebook",
        utm_medium="social",
        utm_campaign=FACEBOOK_CAMPAIGN,
        kinds=(60, 28, 12),
        social=True,
    ),
    Channel("direct", 17, 0.06),
    Channel(
        "partner",
        6,
        0.14,
        referrer="https://www.harbor-business-parks.example/tenants/connectivity",
        kinds=(30, 40, 30),
    ),
    Channel("bing", 2, 0.07, referrer="https://www.bing.com/"),
]

# A returning lead comes back through the newsletter or by typing the address.
RETURN_CHANNELS: list[Channel] = [
    Channel("newsletter-return", 0, 0, utm_source="newsletter", utm_medium="email"),
    Channel("direct-return", 0, 0),
]


@dataclass(frozen=True)
class Campaign:
    """A paid campaign over days ago [start, end]: its channel gets `boost` times the
    visits, and it cost `amount` euros (the return-on-spend report's numbers)."""

    channel: str
    start_days_ago: int
    end_days_ago: int
    boost: float
    amount: int
    utm_source: str = ""
    utm_campaign: str = ""


CAMPAIGNS: list[Campaign] = [
    Campaign("linkedin-ads", 46, 25, 3.0, 2400, "linkedin", LINKEDIN_CAMPAIGN),
    Campaign("google-ads", 60, 31, 1.0, 900, "google", GOOGLE_CAMPAIGN),
    Campaign("google-ads", 30, 0, 1.3, 1100, "google", GOOGLE_CAMPAIGN),
    Campaign("facebook", 40, 10, 1.2, 450, "facebook", FACEBOOK_CAMPAIGN),
]
# Newsletter issues go out every other Tuesday: a spike that day and the next.
NEWSLETTER_BOOST = 4.0
