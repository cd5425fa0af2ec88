"""Bookkeeping sync: an owner's accounting system and cash registers (POS) kept in step
(issue 10). Not an installed app yet: only the adapter interface exists so far."""
