"""Readers and writers; every write is atomic."""
