"""triggers for the Encord provider."""
