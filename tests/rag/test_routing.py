"""Routing a question to the documents its words name (rag.routing), in the Retriever."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from rag import routing
from rag.errors import StoreError
from rag.ingest.ingestor import Ingestor
from rag.retrieval import Retriever
from rag.routing import DocumentRouter, path_text, path_words
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
        matrix = vectorizer.fit_transform([path_text(s) for s in router.sources])
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


class Clock:
    """``time.monotonic`` for the router cache, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(routing.time, "monotonic", clock)
    return clock


def test_documents_ingested_after_the_first_search_are_routed_to_at_the_next_check(filings, embedder, clock):
    store, root = filings
    retriever = Retriever(store, embedder)
    retriever.search(QUESTION, k=3)
    hooli = root / "Hooli" / "HOOLI 10-Q 2024Q2.md"
    hooli.parent.mkdir()
    hooli.write_text("# Revenue\n\nCloud revenue in the quarter was $2,010 million.\n")
    Ingestor(store, embedder).ingest([root])
    question = QUESTION.replace("Globex", "Hooli")
    clock.now += 29  # the store is asked at most every 30 s
    assert retriever.search(question, k=3)[0].chunk.source != "Hooli/HOOLI 10-Q 2024Q2.md"
    clock.now += 2
    assert retriever.search(question, k=3)[0].chunk.source == "Hooli/HOOLI 10-Q 2024Q2.md"


def test_a_renamed_document_of_the_same_size_is_routed_to_at_the_next_check(filings, embedder, clock):
    store, root = filings
    retriever = Retriever(store, embedder)
    assert retriever.search(QUESTION, k=3)[0].chunk.source == "Globex/GLOBEX 10-Q 2024Q2.md"
    (root / "Hooli").mkdir()
    (root / "Globex/GLOBEX 10-Q 2024Q2.md").rename(root / "Hooli/HOOLI 10-Q 2024Q2.md")
    count = store.count()
    Ingestor(store, embedder).ingest([root], prune=True)
    assert store.count() == count  # the chunk count alone does not show the change
    question = QUESTION.replace("Globex", "Hooli")
    retriever.search(question, k=3)  # a candidate from a document the router does not know
    clock.now += 31
    assert retriever.search(question, k=3)[0].chunk.source == "Hooli/HOOLI 10-Q 2024Q2.md"


class SlowListing:
    """The real store, listing its documents slowly (a large index), counting the listings."""

    def __init__(self, store):
        self._store = store
        self.listings = 0

    def __getattr__(self, name):
        return getattr(self._store, name)

    def documents(self):
        self.listings += 1
        time.sleep(0.5)
        return self._store.documents()


def test_searches_that_arrive_during_the_first_build_wait_for_it_and_the_store_is_listed_once(filings, embedder):
    store, _ = filings
    slow = SlowListing(store)
    retriever = Retriever(slow, embedder)
    with ThreadPoolExecutor(4) as pool:
        firsts = list(pool.map(lambda _: retriever.search(QUESTION, k=3)[0].chunk.source, range(4)))
    assert firsts == ["Globex/GLOBEX 10-Q 2024Q2.md"] * 4
    assert slow.listings == 1


class EqualScores:
    """A re-ranker that cannot tell the candidates apart: routing must decide."""

    model_id = "equal"

    def rerank(self, query, candidates):
        return [c.model_copy(update={"score": 3.0}) for c in candidates]


def test_with_a_reranker_the_named_document_is_lifted_on_its_scores(filings, embedder):
    store, _ = filings
    plain = Retriever(store, embedder, reranker=EqualScores(), route_weight=0.0).search(QUESTION, k=3)
    routed = Retriever(store, embedder, reranker=EqualScores()).search(QUESTION, k=3)
    assert plain[0].chunk.source == "Acme/ACME 10-Q 2024Q2.md"  # the first stage's order is kept
    assert routed[0].chunk.source == "Globex/GLOBEX 10-Q 2024Q2.md"
    assert all(0.0 <= r.score <= 1.0 for r in routed)


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


def test_only_documents_whose_paths_hold_a_name_are_lifted():
    # In four 10-Qs, "10-Q" and "2024" are in every path: Apple's filings share them with the
    # question about Amazon's, but nothing that names a document.
    sources = [
        "Amazon/AMZN 10-Q 2024Q1.md",
        "Amazon/AMZN 10-Q 2024Q2.md",
        "Apple/AAPL 10-Q 2024Q1.md",
        "Apple/AAPL 10-Q 2024Q2.md",
    ]
    router = DocumentRouter(sources)
    question = "In Amazon's 10-Q for the quarter ended June 30, 2024, what were AWS net sales?"
    assert router.scores(question)["Apple/AAPL 10-Q 2024Q2.md"] > 0.5  # on every path word
    passages = [(s, "Net sales by segment, three months ended.") for s in sources]
    assert set(router.route(question, passages)) == {"Amazon/AMZN 10-Q 2024Q1.md", "Amazon/AMZN 10-Q 2024Q2.md"}
    assert router.route("What were the 10-Q net sales in 2024?", passages) == {}
    assert DocumentRouter(["Only/the one.pdf"]).route("the one", [("Only/the one.pdf", "text")]) == {}


def test_paths_lose_their_file_extension_only():
    assert path_text("Acme.Corp/Report v1.2.pdf") == "Acme.Corp/Report v1.2"
    assert path_text("notes/LaTeX News 4.1") == "notes/LaTeX News 4.1"
    assert DocumentRouter(["Acme.Corp/report.pdf", "Globex/report.pdf"]).scores("What did Acme write?") == {
        "Acme.Corp/report.pdf": 1.0
    }


def test_a_name_stored_decomposed_meets_the_same_name_typed():
    nfd = unicodedata.normalize("NFD", "Prüfberichte/Übersicht 2024.pdf")
    assert DocumentRouter([nfd, "Andere/Liste.pdf"]).scores("Was steht in der Übersicht?") == {nfd: 1.0}
    assert path_words("Ｑ２ ２０２４") == ["q", "2", "2024"]  # full-width, as some keyboards type


def test_a_path_word_the_question_repeats_counts_as_tf_idf_counts_it():
    # Sublinear tf, as TfidfVectorizer's: "Acme ... Acme" is not twice the name.
    sources = ["Acme/report 2023.pdf", "Globex/report 2024.pdf", "Initech/memo 2024.pdf"]
    question = "Acme: the Acme figures, per the 2024 report"
    vectorizer = TfidfVectorizer(analyzer=path_words, sublinear_tf=True)
    cosine = (vectorizer.fit_transform([path_text(s) for s in sources]) @ vectorizer.transform([question]).T).toarray()
    expected = dict(zip(sources, (cosine.ravel() / cosine.max()).tolist(), strict=True))
    assert DocumentRouter(sources).scores(question) == pytest.approx(expected)
    linear = TfidfVectorizer(analyzer=path_words)
    cosine = (linear.fit_transform([path_text(s) for s in sources]) @ linear.transform([question]).T).toarray()
    assert cosine.ravel()[1] / cosine.max() != pytest.approx(expected["Globex/report 2024.pdf"], abs=0.01)


def test_dates_in_file_names_are_spelled_out_as_questions_name_them():
    assert path_words(path_text("Apple/aapl-20240629.htm")) == ["apple", "aapl", "2024", "june", "29"]
    assert path_words(path_text("Minutes 2024-03-15.pdf")) == ["minutes", "2024", "march", "15"]
    assert path_words(path_text("part 20241399.pdf")) == ["20241399"]  # no 13th month: not a date
    router = DocumentRouter(["Apple/aapl-20240330.htm", "Apple/aapl-20240629.htm", "Apple/aapl-20230930.htm"])
    scores = router.scores("In Apple's 10-Q for the quarter ended June 29, 2024, what were iPad net sales?")
    assert scores["Apple/aapl-20240629.htm"] == 1.0
    assert max(v for s, v in scores.items() if s != "Apple/aapl-20240629.htm") < 0.7
