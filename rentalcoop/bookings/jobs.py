"""Booking work for `flask jobs run`."""

from rentalcoop.bookings import services
from rentalcoop.jobs import job


@job("expire-holds")
def expire_holds() -> int:
    return services.expire_due()


@job("complete-stays")
def complete_stays() -> int:
    return services.complete_due()


@job("remind-guests")
def remind_guests() -> int:
    return services.remind_upcoming()
