"""Admin for leads, their behaviour, scoring configuration and CRM delivery.

Each module registers its models when imported; Django's autodiscovery imports this
package, so it imports them all.
"""

from profiling.admin import delivery, email, people, scoring

__all__ = ["delivery", "email", "people", "scoring"]
