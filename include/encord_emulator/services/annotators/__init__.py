"""Simulated annotators service: deterministic labelling and review passes for demos and tests."""
