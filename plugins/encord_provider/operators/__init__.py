"""operators for the Encord provider."""
