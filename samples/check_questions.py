#!/usr/bin/env python3
"""Verify samples/questions.jsonl against the built sample corpus.

For every question it checks that:
  * the source file exists, and "page" is a valid 1-based page for PDFs and
    null for DOCX/HTML/Markdown/text files;
  * the "evidence" phrase occurs in the text of that page (or document);
  * the evidence phrase occurs on no other page of the whole corpus, so the
    question has a single evidence page;
  * paraphrase questions do not simply quote the evidence phrase.

It also checks the corpus itself: every PDF page carries the running header
(document title) and a "Page N of M" footer, each PDF is under 200 KB and the
whole corpus is under 1 MB.

Text is compared after NFKC normalisation, dash/quote folding, lower-casing
and whitespace collapsing, so line wraps in the PDF do not matter.

Needs pypdfium2 and python-docx.  Exit status 0 when everything passes.

Usage:
    python samples/check_questions.py [--corpus DIR] [--questions FILE] [-v]
"""

import argparse
import json
import re
import sys
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
PDF_LIMIT = 200 * 1024
CORPUS_LIMIT = 1024 * 1024

_FOLD = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
        "\u00ad": "",
        "\ufffe": "",
        "\x02": "",
    }
)


def norm(text):
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return re.sub(r"\s+", " ", text).strip()


class _HTMLText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("p", "tr", "td", "th", "li", "h1", "h2", "h3", "div", "br"):
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def pdf_pages(path):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return pages
    finally:
        pdf.close()


def docx_text(path):
    import docx

    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def html_text(path):
    parser = _HTMLText()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def load_corpus(root):
    """Return {relpath: [page_text, ...]}; non-PDF files count as one page."""
    corpus = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        ext = path.suffix.lower()
        if ext == ".pdf":
            corpus[rel] = pdf_pages(path)
        elif ext == ".docx":
            corpus[rel] = [docx_text(path)]
        elif ext in (".html", ".htm"):
            corpus[rel] = [html_text(path)]
        elif ext in (".md", ".txt"):
            corpus[rel] = [path.read_text(encoding="utf-8")]
        else:
            corpus[rel] = None  # unknown type; reported below
    return corpus


def main(argv=None):
    ap = argparse.ArgumentParser(description="Verify samples/questions.jsonl evidence pages.")
    ap.add_argument("--corpus", default=str(HERE / "warehouse-standards"))
    ap.add_argument("--questions", default=str(HERE / "questions.jsonl"))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every question")
    args = ap.parse_args(argv)

    root = Path(args.corpus)
    errors = []
    corpus = load_corpus(root)
    normed = {rel: [norm(t) for t in pages] for rel, pages in corpus.items() if pages is not None}

    # ---- corpus checks -----------------------------------------------------
    total = 0
    print("Corpus:")
    for rel, pages in corpus.items():
        size = (root / rel).stat().st_size
        total += size
        if pages is None:
            errors.append(f"{rel}: unsupported file type in corpus")
            continue
        is_pdf = rel.lower().endswith(".pdf")
        label = f"{len(pages):>3} pages" if is_pdf else "   1 doc "
        print(f"  {size:>8,} B  {label}  {rel}")
        if is_pdf:
            if size > PDF_LIMIT:
                errors.append(f"{rel}: {size} bytes exceeds the {PDF_LIMIT} byte PDF limit")
            title = norm(Path(rel).stem)
            for i, text in enumerate(normed[rel], start=1):
                if f"page {i} of {len(pages)}" not in text:
                    errors.append(f"{rel} p{i}: footer 'Page {i} of {len(pages)}' not found")
                if title not in text:
                    errors.append(f"{rel} p{i}: running header with the document title not found")
    print(f"  {total:>8,} B  total, {len(corpus)} files")
    if total > CORPUS_LIMIT:
        errors.append(f"corpus is {total} bytes, over the {CORPUS_LIMIT} byte limit")

    # ---- question checks ---------------------------------------------------
    questions = []
    with open(args.questions, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                questions.append((n, json.loads(line)))

    kinds = {}
    for n, q in questions:
        where = f"questions.jsonl:{n}"
        missing = {"query", "source", "page", "evidence"} - q.keys()
        if missing:
            errors.append(f"{where}: missing keys {sorted(missing)}")
            continue
        kinds[q.get("kind", "?")] = kinds.get(q.get("kind", "?"), 0) + 1
        src, page, ev = q["source"], q["page"], norm(q["evidence"])
        if src not in normed:
            errors.append(f"{where}: source not in corpus: {src!r}")
            continue
        pages = normed[src]
        if src.lower().endswith(".pdf"):
            if not isinstance(page, int) or not 1 <= page <= len(pages):
                errors.append(f"{where}: page {page!r} invalid for {src} ({len(pages)} pages)")
                continue
        elif page is not None:
            errors.append(f"{where}: page must be null for non-PDF source {src}")
            continue
        idx = (page or 1) - 1

        hits = [(rel, i + 1) for rel, texts in normed.items() for i, text in enumerate(texts) if ev in text]
        if ev not in pages[idx]:
            found = ", ".join(f"{r} p{p}" for r, p in hits) or "nowhere"
            errors.append(f"{where}: evidence {q['evidence']!r} not on {src} page {page} (found: {found})")
        elif len(hits) != 1:
            others = ", ".join(f"{r} p{p}" for r, p in hits[:5])
            more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
            errors.append(f"{where}: evidence {q['evidence']!r} is on {len(hits)} pages: {others}{more}")
        if q.get("kind") == "paraphrase" and ev in norm(q["query"]):
            errors.append(f"{where}: paraphrase question quotes its evidence verbatim")
        if args.verbose:
            print(f"  ok? {where}  {src} p{page}: {q['query']}")

    print(f"Questions: {len(questions)} ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))})")
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  - " + e)
        return 1
    print("OK: every evidence phrase is on its stated page and on no other page in the corpus")
    return 0


if __name__ == "__main__":
    sys.exit(main())
