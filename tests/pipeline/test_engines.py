"""One engine interface: every engine writes the same report bytes for every rule it supports, and the
capability table in docs/engines.md is the one the code refuses options from."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import labelaudit as la
from labelaudit.engines.base import CAPABILITIES, capability_rows
from labelaudit.errors import UsageError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engines.md"
HAVE_DASK = importlib.util.find_spec("dask") is not None


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    n, k = 1500, 5
    probs = rng.dirichlet(np.ones(k) * 0.4, n).astype(np.float32)
    probs[::7] = np.round(probs[::7], 2)  # ties
    labels = probs.argmax(1)
    flip = rng.random(n) < 0.2
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    names = np.array([f"c{j}" for j in range(k)], dtype=object)
    table = pa.table(
        {
            "id": [f"x{i:04d}" for i in range(n)],
            "label": names[labels],
            **{f"p_c{j}": probs[:, j] for j in range(k)},
        }
    )
    path = tmp_path_factory.mktemp("engines") / "data.parquet"
    pq.write_table(table, path, row_group_size=400)
    return path


def _streaming_rules() -> tuple[str, ...]:
    from labelaudit.core.streaming import STREAMING_FILTERS

    return STREAMING_FILTERS


@pytest.mark.parametrize("method", _streaming_rules())
def test_every_engine_writes_the_same_bytes(data: Path, tmp_path: Path, method: str) -> None:
    runs = {"memory": {}, "stream": {"chunk_rows": 333}}
    if HAVE_DASK:
        runs["dask"] = {}
    written = {}
    for engine, extra in runs.items():
        result = la.scan(str(data), id_col="id", method=method, engine=engine, **extra)
        assert result.engine == engine
        for suffix in ("csv", "parquet"):
            out = tmp_path / f"{engine}.{suffix}"
            result.write(str(out))
            written[(engine, suffix)] = out.read_bytes()
        assert result.num_issues > 0
    for (engine, suffix), content in written.items():
        assert content == written[("memory", suffix)], (engine, suffix, method)


def test_the_documented_capability_table_is_the_code(data: Path) -> None:
    text = DOCS.read_text()
    block = text.split("<!-- capabilities: generated from labelaudit.engines.base.CAPABILITIES -->")[1]
    block = block.split("<!-- /capabilities -->")[0]
    rows = [
        tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
        for line in block.strip().splitlines()[2:]
    ]
    assert rows == capability_rows()
    assert set(CAPABILITIES) == {"memory", "stream", "dask"}


@pytest.mark.parametrize(
    ("engine", "kwargs", "needle"),
    [
        ("stream", {"multi_label": True}, "--multi-label"),
        ("stream", {"compat": "cleanlab"}, "--compat cleanlab"),
        ("stream", {"method": "low_self_confidence"}, "--method low_self_confidence"),
        ("dask", {"compat": "cleanlab"}, "--compat cleanlab"),
    ],
)
def test_unsupported_options_are_refused_from_the_table(
    data: Path, engine: str, kwargs: dict, needle: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(needle)):
        la.scan(str(data), engine=engine, **kwargs)


def test_a_table_in_memory_and_its_file_give_the_same_report(data: Path) -> None:
    from_file = la.scan(str(data), id_col="id")
    from_frame = la.scan(pd.read_parquet(data), id_col="id")
    from_arrow = la.scan(pq.read_table(data), id_col="id")
    for other in (from_frame, from_arrow):
        pd.testing.assert_frame_equal(from_file.report, other.report)
        assert other.summary == from_file.summary
