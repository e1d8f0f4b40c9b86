"""Command-line interface: parse, read, call the API, write."""
