"""Optional execution engines for ``labelaudit scan`` (``--engine``); each imports its backend lazily."""
