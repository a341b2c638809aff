"""Memory and time of loading a .docx zip bomb: with the unpacked-size cap, and without it.

A .docx is a zip; its word/document.xml here is ``--mb`` MB of ordinary paragraphs that deflate
to a few hundred KB. python-docx reads and parses all of it. Each load runs in its own process
(``--runs`` times, interleaved) and reports peak RSS growth over the process's baseline and the
seconds taken; "uncapped" lifts ``rag.ingest.loaders``' limits for that process only.

    python -m bench.docx_bomb --mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.documents import make_docx_bomb

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from pathlib import Path
import docx, rag.ingest.loaders as loaders  # imported first: their memory is the baseline
from rag.errors import LoadError
if sys.argv[2] == "uncapped":
    loaders.DOCX_MAX_XML_BYTES = loaders.DOCX_MAX_UNPACKED_BYTES = float("inf")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    outcome = f"{sum(len(p.text) for p in loaders.load_docx(Path(sys.argv[1]))):,} characters"
except LoadError as e:
    outcome = "refused: " + e.reason
seconds = time.perf_counter() - started
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps({"mb": grown, "seconds": seconds, "outcome": outcome}))
"""


def make_bomb(path: Path, megabytes: int) -> int:
    """A valid .docx whose document.xml unpacks to about ``megabytes`` MB; returns its size on disk."""
    return make_docx_bomb(path, megabytes, level=9).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="unpacked size of document.xml")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.docx"
        size = make_bomb(bomb, args.mb)
        print(f"bomb.docx: {size / 1024:,.0f} KB on disk, document.xml ~{args.mb} MB unpacked")
        results: dict[str, list[dict]] = {"capped": [], "uncapped": []}
        for _ in range(args.runs):
            for mode in results:
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(bomb), mode],
                    cwd=ROOT,  # python -c imports from the working directory: the repository's rag
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[mode].append(json.loads(out.stdout))
        print(f"| load | peak RSS growth MB (median of {args.runs}) | seconds | outcome |")
        print("|---|---:|---:|---|")
        for mode, runs in results.items():
            mb = statistics.median(r["mb"] for r in runs)
            seconds = statistics.median(r["seconds"] for r in runs)
            print(f"| {mode} | {mb:,.0f} | {seconds:.2f} | {runs[0]['outcome']} |")


if __name__ == "__main__":
    main()
