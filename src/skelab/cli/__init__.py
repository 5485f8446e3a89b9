"""Command-line interface; see `skelab.cli.main`."""
