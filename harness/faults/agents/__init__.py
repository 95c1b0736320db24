"""Programs that run inside helper containers (stdlib only, mounted read-only); also imported for their constants."""
