"""``ragbot train reranker`` through the real CLI: refused on an empty index, then trained on a
real ingested PDF, measured on held-out pages, and loadable as RAGBOT_RERANKER."""

from __future__ import annotations

import json

import pytest

from rag.rerankers.blend import Blend
from rag.rerankers.cross_encoder import CrossEncoderReranker
from tests.docs import make_pdf
from training.reranker import RerankerOptions


@pytest.mark.slow
def test_the_command_trains_measures_and_says_whether_to_use_it(ragbot, tmp_path):
    empty = ragbot("train", "reranker", "--out", str(tmp_path / "none"))
    assert empty.exit_code == 1
    assert empty.output == "Error: the index is empty: ingest documents before training a re-ranker\n"
    make_pdf(
        tmp_path / "docs" / "criteria.pdf",
        [
            f"Section {n}. The {t} shall be tested by the installer before handover.\n"
            f"The {t} is rated for {n * 10} units under the nominal test conditions of this section."
            for n, t in enumerate(["pump", "valve", "door", "slab", "roof", "lamp", "fence", "drain"], start=1)
        ],
    )
    assert ragbot("ingest", str(tmp_path / "docs")).exit_code == 0
    out = tmp_path / "reranker"
    result = ragbot("train", "reranker", "--out", str(out), "--pairs", "20", "--max-steps", "2", "--holdout", "0.3")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "reranker.json").read_text())
    assert report["training"]["global_step"] == 2
    assert report["pairs"]["corpus positive"] > 0 and report["pairs"]["corpus negative"] > 0
    assert report["held_out"] == report["without"]["n"] == report["with_reranker"]["n"] > 0
    # what was checked is the blend it will be served with, saved beside the model
    assert report["blend"] == {"weight": Blend.of(out).weight, "k": 60, "candidates": 10}
    assert CrossEncoderReranker(out).blend == Blend(weight=RerankerOptions().blend_weight)
    assert f"{report['held_out']} held-out questions" in result.output
    advice = f"set RAGBOT_RERANKER={out.resolve()}" if report["helps"] else "leave RAGBOT_RERANKER unset"
    assert advice in result.output
    # the folder is what RAGBOT_RERANKER loads
    assert CrossEncoderReranker(out).model.predict([("pump", "The pump is rated for 10 units.")]).shape == (1,)
