"""Routing a question to the documents its words name (rag.routing), in the Retriever."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from rag import retrieval
from rag.errors import StoreError
from rag.ingest.ingestor import Ingestor
from rag.retrieval import Retriever
from rag.routing import DocumentRouter, _path_text, path_words
from rag.stores.embedded import LanceDBVectorStore

# Two quarterly reports whose tables read alike: only the question's company tells them apart.
FILINGS = {
    "Acme/ACME 10-Q 2024Q2.md": "# Results\n\nCloud revenue for the quarter ended June 30 was $5,120 million, up from $4,310 million.\n",
    "Globex/GLOBEX 10-Q 2024Q2.md": "# Segments\n\nCloud revenue in the second quarter was $7,480 million, up from $6,900 million.\n",
    "Initech/INITECH 10-K 2023.md": "# Employees\n\nAt year end we employed 12,000 people in 14 countries.\n",
}
QUESTION = "What cloud revenue did Globex report for the three months ended June 30, 2024?"


def test_path_words_split_letters_from_digits_and_drop_leading_zeros_and_stop_words():
    assert path_words("Amazon/AMZN 10-Q 2024Q2") == ["amazon", "amzn", "10", "q", "2024", "q", "2"]
    assert path_words("ltnews04") == ["ltnews", "4"] and path_words("LaTeX News issue 4") == [
        "latex",
        "news",
        "issue",
        "4",
    ]
    assert path_words("What is the default of the") == ["default"]
    assert path_words("Prüfbericht_2024/Übersicht.pdf") == ["prüfbericht", "2024", "übersicht", "pdf"]


def test_the_router_ranks_the_named_document_first_and_is_silent_when_none_is_named():
    router = DocumentRouter(FILINGS)
    scores = router.scores(QUESTION)
    assert scores["Globex/GLOBEX 10-Q 2024Q2.md"] == 1.0
    assert scores.get("Acme/ACME 10-Q 2024Q2.md", 0.0) < 0.5
    assert DocumentRouter(["ltnews03.pdf", "ltnews04.pdf"]).scores("In LaTeX News 4, what changed?") == {
        "ltnews04.pdf": 1.0
    }
    assert router.scores("How many people were employed?") == {}
    assert router.scores("what is the") == {}
    assert DocumentRouter([]).scores(QUESTION) == {}
    assert DocumentRouter(["___.pdf"]).scores("pdf") == {}  # no word in any path


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=8), st.text(max_size=80), st.lists(st.text(max_size=200), max_size=4))
def test_router_scores_are_tf_idf_cosines_relative_to_the_best_match_for_any_paths_and_question(
    sources, question, texts
):
    router = DocumentRouter(sources)
    scores = router.scores(question)
    assert set(scores) <= set(sources)
    assert all(0.0 < v <= 1.0 + 1e-9 for v in scores.values())
    assert not scores or max(scores.values()) == pytest.approx(1.0)
    if router.sources and scores:
        # The same ranking as scikit-learn's own transform of the question.
        vectorizer = TfidfVectorizer(analyzer=path_words, sublinear_tf=True)
        matrix = vectorizer.fit_transform([_path_text(s) for s in router.sources])
        cosine = (matrix @ vectorizer.transform([question]).T).toarray().ravel()
        expected = {s: c / cosine.max() for s, c in zip(router.sources, cosine, strict=True) if c > 0}
        assert scores == pytest.approx(expected)
    passages = list(zip(sources, texts))
    routed = router.route(question, passages)
    assert set(routed) <= {s for s, _ in passages} and all(routed[s] == pytest.approx(scores[s]) for s in routed)


@pytest.fixture
def filings(tmp_path, embedder):
    root = tmp_path / "filings"
    for name, text in FILINGS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    store = LanceDBVectorStore(tmp_path / "index")
    Ingestor(store, embedder).ingest([root])
    return store, root


def test_a_question_naming_a_company_reaches_its_filing_over_a_sibling_that_reads_closer(filings, embedder):
    store, _ = filings
    unrouted = Retriever(store, embedder, route_weight=0.0).search(QUESTION, k=3)
    routed = Retriever(store, embedder).search(QUESTION, k=3)
    assert unrouted[0].chunk.source == "Acme/ACME 10-Q 2024Q2.md"  # the content alone picks the sibling
    assert routed[0].chunk.source == "Globex/GLOBEX 10-Q 2024Q2.md"
    assert all(0.0 <= r.score <= 1.0 for r in routed)
    assert [r.score for r in routed] == sorted((r.score for r in routed), reverse=True)
    # Vector and keyword modes stay the pure sides they are measured as.
    for mode in ("vector", "keyword"):
        plain = Retriever(store, embedder, mode=mode, route_weight=0.0).search(QUESTION, k=3)
        assert Retriever(store, embedder, mode=mode).search(QUESTION, k=3) == plain


def test_a_question_that_names_no_document_keeps_the_fused_order(filings, embedder):
    store, _ = filings
    question = "How many people were employed at year end?"
    plain = Retriever(store, embedder, route_weight=0.0).search(question, k=3)
    assert Retriever(store, embedder).search(question, k=3) == plain


def test_documents_ingested_after_the_first_search_are_routed_to(filings, embedder, monkeypatch):
    store, root = filings
    retriever = Retriever(store, embedder)
    retriever.search(QUESTION, k=3)
    hooli = root / "Hooli" / "HOOLI 10-Q 2024Q2.md"
    hooli.parent.mkdir()
    hooli.write_text("# Revenue\n\nCloud revenue in the quarter was $2,010 million.\n")
    Ingestor(store, embedder).ingest([root])
    question = QUESTION.replace("Globex", "Hooli")
    assert retriever.search(question, k=3)[0].chunk.source != "Hooli/HOOLI 10-Q 2024Q2.md"  # checked every 30 s
    monkeypatch.setattr(retrieval, "ROUTER_CHECK_SECONDS", 0.0)
    assert retriever.search(question, k=3)[0].chunk.source == "Hooli/HOOLI 10-Q 2024Q2.md"


class Unlisted:
    """The real store, except that listing its documents fails (a cluster refusing the request)."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def documents(self):
        raise StoreError("the cluster refused the aggregation")


def test_search_goes_on_without_routing_when_the_store_cannot_list_its_documents(filings, embedder, caplog):
    store, _ = filings
    results = Retriever(Unlisted(store), embedder).search(QUESTION, k=3)
    assert [r.chunk.id for r in results] == [
        r.chunk.id for r in Retriever(store, embedder, route_weight=0.0).search(QUESTION, k=3)
    ]
    assert "document routing is off" in caplog.text


def test_a_path_word_that_other_documents_passages_use_is_a_topic_not_a_name():
    router = DocumentRouter(["Site Civil/Drainage Specification.pdf", "Design Criteria.pdf"])
    question = "How many cars can we park on site?"
    assert router.scores(question) == {"Site Civil/Drainage Specification.pdf": 1.0}
    topic = [
        ("Design Criteria.pdf", "The site has 412 car parking spaces."),
        ("Site Civil/Drainage Specification.pdf", "Falls"),
    ]
    assert router.route(question, topic) == {}
    name = [  # "website" is not "site"
        ("Design Criteria.pdf", "See the website: 412 spaces."),
        ("Site Civil/Drainage Specification.pdf", "The site drains"),
    ]
    assert router.route(question, name) == {"Site Civil/Drainage Specification.pdf": 1.0}


def test_dates_in_file_names_are_spelled_out_as_questions_name_them():
    assert path_words(_path_text("Apple/aapl-20240629.htm")) == ["apple", "aapl", "2024", "june", "29"]
    assert path_words(_path_text("Minutes 2024-03-15.pdf")) == ["minutes", "2024", "march", "15"]
    assert path_words(_path_text("part 20241399.pdf")) == ["20241399"]  # no 13th month: not a date
    router = DocumentRouter(["Apple/aapl-20240330.htm", "Apple/aapl-20240629.htm", "Apple/aapl-20230930.htm"])
    scores = router.scores("In Apple's 10-Q for the quarter ended June 29, 2024, what were iPad net sales?")
    assert scores["Apple/aapl-20240629.htm"] == 1.0
    assert max(v for s, v in scores.items() if s != "Apple/aapl-20240629.htm") < 0.7
