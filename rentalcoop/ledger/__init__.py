"""Ledger: double-entry, append-only bookkeeping in integer öre, and exact money splits."""
