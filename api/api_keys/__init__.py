"""API keys: list, create (the secret is shown once) and revoke."""
