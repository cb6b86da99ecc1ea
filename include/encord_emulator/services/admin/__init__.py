"""Admin service (no auth, loopback callers only): seed at runtime, configure faults, summarise state."""
