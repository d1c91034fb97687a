"""Calendar pages (filled in below)."""
