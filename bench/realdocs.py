"""Shared pieces of the real-document benchmarks: an on-disk embedding cache, the LangChain
tutorial pipeline as a baseline, and the question sets.

Embedding 2,000 pages takes many minutes on two CPU cores, and every variant of the pipeline
embeds mostly the same texts: ``CachedEmbedder`` keeps each vector under the SHA-256 of its text
in a SQLite file under ``bench/corpora/cache`` (git-ignored), so a rerun embeds only what changed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
CORPORA = BENCH / "corpora"
CACHE = CORPORA / "cache"
QUESTIONS = BENCH / "questions"


def load_questions(corpus: str) -> list[dict]:
    path = QUESTIONS / f"{corpus}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class CachedEmbedder:
    """An Embedder that remembers every document vector it computed, on disk.

    Queries are embedded fresh (they are few and cheap). Counts what it embedded and what it
    found in the cache, for the benchmarks' ingest-rate figures.
    """

    def __init__(self, inner, path: Path):
        self.inner = inner
        self.model_id = inner.model_id
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (h TEXT PRIMARY KEY, b BLOB)")
        self._lock = threading.Lock()
        self.computed = 0
        self.cached = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                rows = self._db.execute(f"SELECT h, b FROM v WHERE h IN ({','.join('?' * len(batch))})", batch)
                found.update((h, np.frombuffer(b, dtype=np.float32)) for h, b in rows)
        missing = sorted({k: i for i, k in enumerate(keys) if k not in found}.items(), key=lambda kv: kv[1])
        # Slices, each committed: an interrupted run keeps what it embedded.
        for start in range(0, len(missing), 256):
            part = missing[start : start + 256]
            vectors = self.inner.embed_documents([texts[i] for _, i in part])
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO v VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(part, vectors)],
                )
                self._db.commit()
            found.update((k, v) for (k, _), v in zip(part, vectors))
        self.computed += len(missing)
        self.cached += len(texts) - len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def pypdf_pages(path: Path) -> list[tuple[int, str]]:
    """Page texts as LangChain's PyPDFLoader reads them (pypdf ``extract_text``), 1-based."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]


class TutorialPipeline:
    """The LangChain RAG tutorial: PyPDFLoader pages (TextLoader's one document per Markdown
    file, page ``None``), RecursiveCharacterTextSplitter(1000, 200),
    the same MiniLM, and exact (FAISS-flat-equivalent) cosine search with numpy. Vector only,
    chunks returned as they rank (a page may come back several times)."""

    def __init__(self, embedder, root: Path, cache: Path):
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.embedder = embedder
        pages_file = cache / f"pypdf-pages-{root.name}.json"
        if pages_file.exists():
            pages = json.loads(pages_file.read_text())
        else:
            pages = [
                [path.relative_to(root).as_posix(), number, text]
                for path in sorted(root.rglob("*.pdf"))
                for number, text in pypdf_pages(path)
            ] + [[path.relative_to(root).as_posix(), None, path.read_text()] for path in sorted(root.rglob("*.md"))]
            pages_file.parent.mkdir(parents=True, exist_ok=True)
            pages_file.write_text(json.dumps(pages))
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.chunks = [(source, number, piece) for source, number, text in pages for piece in splitter.split_text(text)]
        self.pages = len(pages)
        self.matrix = embedder.embed_documents([c[2] for c in self.chunks])

    def search(self, query: str, k: int) -> list[dict]:
        q = self.embedder.embed_query(query)
        scores = self.matrix @ q
        top = np.argsort(-scores)[:k]
        return [
            {
                "source": self.chunks[i][0],
                "page": self.chunks[i][1],
                "text": self.chunks[i][2],
                "score": float(scores[i]),
                "similarity": float(scores[i]),
            }
            for i in top
        ]
