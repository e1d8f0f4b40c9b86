"""What produced a report: library versions, recorded in every report's metadata."""

from __future__ import annotations


def versions() -> dict[str, str]:
    import numba
    import numpy
    import pandas
    import pyarrow

    from labelaudit import __version__

    return {
        "labelaudit": __version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
    }
