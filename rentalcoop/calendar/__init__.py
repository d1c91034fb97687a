"""Calendar feeds: reading other platforms' iCal exports and writing our own (DESIGN §8)."""
