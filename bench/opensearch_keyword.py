"""Why keyword search ranks differently on the two engines: BM25 alone, and each store's way of
finding identifiers, on the same chunks of a real corpus.

``python -m bench.real_retrieval --store opensearch`` found the keyword mode of the two stores
apart on the filings. This script takes one corpus's chunks as the Ingestor makes them, indexes
them into a LanceDB store (as shipped) and into one OpenSearch index with the field layouts to
compare, and asks the corpus's questions of each variant:

* the embedded store's keyword search as shipped (LanceDB BM25 over context + text in one
  column, then ``boost_identifiers`` over its candidates), and LanceDB's BM25 alone;
* OpenSearch's as shipped (``cross_fields`` over ``text`` and ``context`` with the english
  analyser, plus a phrase clause per identifier), without the phrase clauses, over one field
  holding context + text (english analyser, or a LanceDB-like one: split on non-alphanumerics,
  lower case, ascii folding, English stop words, Snowball), and that one field with the
  embedded store's ``boost_identifiers`` over its best 30.

Hit@1 / hit@5 / MRR are scored as bench/real_retrieval.py scores them. The node is started and
stopped here (``--opensearch-url``: a running cluster instead).

    nice python -m bench.opensearch_keyword --corpora filings,manuals
"""

from __future__ import annotations

import argparse
import os
import tempfile
from contextlib import nullcontext
from pathlib import Path

from bench import opensearch_node
from bench.real_retrieval import metrics, rank_of
from bench.realdocs import CACHE, CORPORA, CachedEmbedder, load_questions

INDEX = "ragbot-bench-keyword"
LANCEDB_LIKE = {
    "tokenizer": {"alnum": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
    "filter": {
        "english_stop": {"type": "stop", "stopwords": "_english_"},
        "english_snowball": {"type": "snowball", "language": "English"},
    },
    "analyzer": {
        "lancedb_like": {
            "type": "custom",
            "tokenizer": "alnum",
            "filter": ["lowercase", "asciifolding", "english_stop", "english_snowball"],
        }
    },
}


def index_body() -> dict:
    text = {"type": "text", "analyzer": "english", "fields": {"exact": {"type": "text", "analyzer": "standard"}}}
    return {
        "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}, "analysis": LANCEDB_LIKE},
        "mappings": {
            "properties": {
                "source": {"type": "keyword"},
                "page": {"type": "integer"},
                "text": text,
                "context": {"type": "text", "analyzer": "english"},
                "one": {"type": "text", "analyzer": "english"},
                "one_lancedb_like": {"type": "text", "analyzer": "lancedb_like"},
            }
        },
    }


def variants(client) -> dict:
    from rag.stores.embedded.queries import boost_identifiers
    from rag.stores.opensearch import keyword_query

    def ask(query: dict, size: int = 10) -> list[dict]:
        hits = client.search(index=INDEX, body={"size": size, "query": query})["hits"]["hits"]
        return [h["_source"] | {"_score": h["_score"]} for h in hits]

    return {
        "OpenSearch as shipped: cross_fields text + context, phrase clauses": lambda t: ask(keyword_query(t)),
        "  without the phrase clauses": lambda t: ask(
            {"multi_match": {"query": t, "fields": ["text", "context"], "type": "cross_fields"}}
        ),
        "  one field (context + text), english": lambda t: ask({"match": {"one": t}}),
        "  one field, LanceDB-like analyser": lambda t: ask({"match": {"one_lancedb_like": t}}),
        "  one field, english, + boost_identifiers over 30": lambda t: boost_identifiers(
            t, ask({"match": {"one": t}}, 30)
        )[:10],
    }


def run(corpus: str, client, embedder) -> list[str]:
    from opensearchpy import helpers

    from rag.ingest.ingestor import Ingestor
    from rag.stores.embedded import LanceDBVectorStore, keyword_query, search_text

    questions = [q for q in load_questions(corpus) if q["kind"] != "unanswerable"]
    with tempfile.TemporaryDirectory(prefix="ragbot-bench-keyword-") as tmp:
        lance = LanceDBVectorStore(Path(tmp))
        Ingestor(lance, embedder).ingest([CORPORA / corpus])
        chunks = lance.chunks()
        client.indices.delete(index=INDEX, ignore_unavailable=True)
        client.indices.create(index=INDEX, body=index_body())
        helpers.bulk(
            client,
            (
                {
                    "_index": INDEX,
                    "_id": c.id,
                    "_source": {
                        "source": c.source,
                        "page": c.page,
                        "text": c.text,
                        "context": c.context,
                        "one": search_text(c.context, c.text),
                        "one_lancedb_like": search_text(c.context, c.text),
                    },
                }
                for c in chunks
            ),
        )
        client.indices.refresh(index=INDEX)
        table = lance._open()

        def shipped(t: str) -> list[dict]:
            return [r.chunk.model_dump() for r in lance.search(t, None, k=10, mode="keyword")]

        def bm25_alone(t: str) -> list[dict]:
            return table.search(keyword_query(t), query_type="fts").limit(10).to_list()

        systems = {
            "embedded as shipped: LanceDB BM25, boost_identifiers": shipped,
            "  LanceDB BM25 alone": bm25_alone,
        } | variants(client)
        lines = [f"\n## {corpus}: {len(questions)} questions, {len(chunks):,} chunks", ""]
        lines += ["| keyword search | hit@1 | hit@5 | MRR |", "|---|---:|---:|---:|"]
        for name, search in systems.items():
            m = metrics([rank_of(q, search(q["query"])) for q in questions])
            lines.append(f"| {name} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} |")
        client.indices.delete(index=INDEX, ignore_unavailable=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="manuals,latex-news,filings")
    parser.add_argument("--opensearch-url", default=None, help="a running cluster instead of the local node")
    parser.add_argument("--heap", default="1g", help="the local OpenSearch node's JVM heap (-Xmx)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from opensearchpy import OpenSearch

    from rag.embedders.local import SentenceTransformerEmbedder

    embedder = CachedEmbedder(
        SentenceTransformerEmbedder("all-MiniLM-L6-v2"), CACHE / "embeddings-all-MiniLM-L6-v2.sqlite"
    )
    local = not args.opensearch_url
    with opensearch_node.running(heap=args.heap) if local else nullcontext() as node:
        client = OpenSearch(args.opensearch_url or node.url, timeout=120)
        print(f"# keyword search on both engines (OpenSearch {client.info()['version']['number']})")
        for corpus in args.corpora.split(","):
            print("\n".join(run(corpus, client, embedder)), flush=True)
        client.close()


if __name__ == "__main__":
    main()
