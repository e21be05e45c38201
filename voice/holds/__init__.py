"""Safety holds: staff stop all outward disclosure about a case until the hold ends."""
