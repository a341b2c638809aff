"""``ragbot ingest | search | status``: the corpus on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.cli.shared import emit, pass_services
from rag.errors import InvalidQuery
from rag.records import Citation, ScoredChunk, SearchFilters

EXIT_FAILED_FILES = 1


def citation_json(c: Citation | ScoredChunk) -> dict:
    if isinstance(c, ScoredChunk):
        return {
            "source": c.chunk.source,
            "page": c.chunk.page,
            "score": round(c.score, 6),
            "text": c.chunk.text,
            "chunk_id": c.chunk.id,
        }
    return {"n": c.n, "source": c.source, "page": c.page, "score": c.score, "text": c.text, "chunk_id": c.chunk_id}


def search_filters(folder: str | None, source: str | None) -> SearchFilters | None:
    f = SearchFilters(folder=folder, source=source)
    return None if f.is_empty() else f


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--prune", is_flag=True, help="Remove indexed documents that are not under any of PATHS.")
@click.option("--force", is_flag=True, help="Re-index files even when unchanged.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the index already holds documents.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_services
def ingest(services, paths: tuple[Path, ...], prune: bool, force: bool, if_empty: bool, as_json: bool) -> None:
    """Index the documents under PATHS (folders are searched recursively).

    Sources are stored relative to each PATH. Unchanged files are skipped; a file that cannot be
    read is reported and skipped. Exits with 1 when any file failed.
    """
    from tqdm import tqdm

    if if_empty and not services.corpus.is_empty():
        click.echo(f"The index already holds {services.corpus.status().chunks} chunks; nothing to do.", err=True)
        return
    bar = tqdm(total=0, unit="file", desc="Ingesting", file=sys.stderr, disable=None, dynamic_ncols=True)

    def progress(p):
        bar.total = p.files_total
        bar.set_postfix(pages=p.pages_done, file=p.current[-40:], refresh=False)
        bar.update(p.files_done - bar.n)

    try:
        report = services.corpus.ingest(list(paths), prune=prune, force=force, progress=progress)
    finally:
        bar.close()
    if as_json:
        emit(report.model_dump() | {"ok": report.ok})
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(EXIT_FAILED_FILES)


def _print_report(report) -> None:
    rate = report.pages / report.seconds if report.seconds else 0.0
    click.echo(
        f"{report.files_seen} files: {len(report.indexed)} indexed, {report.unchanged} unchanged, "
        f"{len(report.failed)} failed, {len(report.skipped)} skipped, {len(report.pruned)} pruned; "
        f"{report.pages} pages, {report.chunks} chunks in {report.seconds:.1f}s ({rate:.1f} pages/s)"
    )
    for title, issues in (("Failed", report.failed), ("Skipped", report.skipped)):
        if issues:
            click.echo(f"{title}:")
            for issue in issues:
                click.echo(f"  {issue.source}: {issue.reason}")
    if report.pruned:
        click.echo("Pruned:")
        for source in report.pruned:
            click.echo(f"  {source}")
    if report.flagged_counts:
        click.echo("Passages addressing the model (possible prompt injection; withheld from it when cited):")
        for source, count in sorted(report.flagged_counts.items()):
            first = next((p for p in report.flagged if p.source == source), None)
            example = f": {first.matches[0]!r}" if first and first.matches else ""
            click.echo(f"  {source}: {count}{example}")


def _read_queries(path: Path) -> list[tuple[int, dict]]:
    """(line number, query object) for every query of a ``--queries`` file, all checked before the
    first is searched. Blank lines are skipped; a line that starts with ``{`` must be a JSON object.

    Raises:
        click.ClickException: naming ``path:line`` for the first line that is not UTF-8, not
            JSON although it starts like it, or that holds no query or an empty one.
    """
    queries = []
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError as e:
                raise click.ClickException(
                    f"{where}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1}); save the file as UTF-8"
                ) from None
            if not line:
                continue
            item: object = line  # a plain line of text is a query
            if line.startswith("{"):  # a quoted phrase or "[1] …" is still text
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as e:
                    raise click.ClickException(f"{where}: broken JSON ({e.msg} at column {e.colno})") from None
            if isinstance(item, str):
                item = {"query": item}
            text = item.get("query", item.get("question")) if isinstance(item, dict) else None
            if not isinstance(text, str):
                raise click.ClickException(f'{where}: expected a JSON object with a "query" string, or a line of text')
            if not text.strip():
                raise click.ClickException(f"{where}: the query is empty")
            queries.append((number, item))
    return queries


@click.command()
@click.argument("query", required=False)
@click.option(
    "--queries",
    "queries_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A JSONL file of queries (objects with "query", optionally "id") or plain lines; prints one JSON line per query.',
)
@click.option(
    "-k", "--k", "k", type=click.IntRange(1, 100), default=None, help="How many passages (default: RAGBOT_TOP_K)."
)
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "vector", "keyword"]),
    default=None,
    help="Ranking (default: RAGBOT_SEARCH_MODE).",
)
@click.option("--folder", help="Only documents in this folder (and below).")
@click.option("--source", help="Only this document (its path as cited).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_services
def search(services, query, queries_file, k, mode, folder, source, as_json) -> None:
    """Retrieve the passages for QUERY, without generating an answer."""
    if bool(query) == bool(queries_file):
        raise click.UsageError("give either a QUERY or --queries FILE")
    filters = search_filters(folder, source)
    if queries_file:
        for number, item in _read_queries(queries_file):
            text = item.get("query", item.get("question"))
            try:
                results = services.corpus.search(text, k=k, mode=mode, filters=filters)
            except InvalidQuery as e:  # e.g. too long: say which line, as for the checks above
                raise click.ClickException(f"{queries_file}:{number}: {e}") from e
            out = {"query": text} | ({"id": item["id"]} if "id" in item else {})
            emit(out | {"citations": [citation_json(r) for r in results]})
        return
    results = services.corpus.search(query, k=k, mode=mode, filters=filters)
    if as_json:
        emit({"query": query, "citations": [citation_json(r) for r in results]})
        return
    if not results:
        click.echo("No passages found. Is anything ingested? Try `ragbot status`.")
    for i, r in enumerate(results, start=1):
        where = f"{r.chunk.source} – page {r.chunk.page}" if r.chunk.page else r.chunk.source
        click.echo(click.style(f"[{i}] {where}  (score {r.score:.4f})", bold=True))
        click.echo("    " + r.chunk.text[:300].replace("\n", " ") + ("…" if len(r.chunk.text) > 300 else ""))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_services
def status(services, as_json) -> None:
    """What the index holds."""
    info = services.corpus.status()
    if as_json:
        emit(info.model_dump(mode="json"))
        return
    click.echo(
        f"{info.documents} documents, {info.pages} pages, {info.chunks} chunks (embeddings: {info.embedding_model})"
    )
    last = info.last_ingest
    if last:
        click.echo(f"Last ingest: {', '.join(last.roots)}: {len(last.indexed)} indexed, {len(last.failed)} failed")
