"""sensors for the Encord provider."""
