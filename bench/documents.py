"""Documents the benchmarks build and the tests reuse: a .docx zip bomb."""

from __future__ import annotations

import zipfile
from pathlib import Path


def make_docx_bomb(path: Path, megabytes: int, level: int = 1) -> Path:
    """A valid .docx whose word/document.xml unpacks to about ``megabytes`` MB of paragraphs while
    the file stays small (deflate shrinks the repeats ~150x at level 1, ~300x at level 9)."""
    import docx

    path.parent.mkdir(parents=True, exist_ok=True)
    plain = path.with_name(path.name + ".seed.docx")
    seed = docx.Document()
    seed.add_paragraph("seed")
    seed.save(str(plain))
    paragraph = b"<w:p><w:r><w:t>Sprinkler heads are inspected every quarter by the contractor.</w:t></w:r></w:p>"
    block = paragraph * 10_000
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename != "word/document.xml":
                out.writestr(item, data)
                continue
            head, _, tail = data.partition(b"<w:body>")
            with out.open(item.filename, "w", force_zip64=True) as f:
                f.write(head + b"<w:body>")
                for _ in range(megabytes * 2**20 // len(block)):
                    f.write(block)
                f.write(tail)
    plain.unlink()
    return path
