"""Pages of the cooperative (filled below)."""
