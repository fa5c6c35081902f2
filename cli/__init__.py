"""Command-line interface and the shared core (errors, settings, files, fonts)."""
