"""config for the Encord provider."""
