"""exports for the Encord provider."""
