"""ledger for the Encord provider."""
