"""manifests for the Encord provider."""
