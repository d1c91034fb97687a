"""Paying the cooperative directly (the manual provider, DESIGN §7): its Swish number and bank
giro as board settings, the guest's choice of method and the hold that goes with it, the
reminder before a bank giro hold lapses, and the board matching incoming money by reference.

Its routes live on the payments blueprint (`views`); the rules in `services`; number formats,
amounts and the Swish QR code in `formats`.
"""
