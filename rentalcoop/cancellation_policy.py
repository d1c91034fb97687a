"""The cancellation policies a host can choose (DESIGN §2, §6).

A module of its own so listings (which store the choice) and the refund rules (which apply it)
share one definition without importing each other's packages.
"""

from enum import StrEnum


class CancellationPolicy(StrEnum):
    """The host's choice of how much a guest gets back (DESIGN §2, §6)."""

    FLEXIBLE = "flexible"
    MODERATE = "moderate"
    FIRM = "firm"
    STRICT = "strict"
