"""Bookings: holding nights, the lifecycle, cancellation."""
