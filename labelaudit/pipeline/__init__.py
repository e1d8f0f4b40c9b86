"""The library pipeline: read a table, run an audit, build the report; what the CLI and notebooks call.

Layering: ``cli`` -> ``pipeline`` -> ``engines`` -> ``core``, with ``io`` and ``report`` at the bottom.
"""
