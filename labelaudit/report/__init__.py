"""Report rendering: terminal tables and report frames."""
