"""Shared infrastructure of the emulator: document store, errors, auth, faults, seeding, registries, app."""
