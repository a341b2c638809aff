import pytest

from rag.errors import InvalidQuery
from rag.ingest.ingestor import Ingestor
from rag.records import SearchFilters, Turn
from rag.pipeline import AnswerPipeline
from rag.retrieval import Retriever
from rag.prompts import NOT_FOUND, PROMPT_VERSION
from rag.stores.embedded import LanceDBVectorStore
from tests.docs import make_pdf
from tests.fakes import FakeGenerator


@pytest.fixture
def retriever(tmp_path, embedder):
    root = tmp_path / "docs"
    make_pdf(
        root / "Design" / "criteria.pdf",
        [
            "General requirements for the building envelope and roof.",
            "21 01 13 Parking. The site provides 412 car parking spaces and 38 trailer positions.",
            "Minimum parking space size is 2.5 m by 5.0 m for cars.",
        ],
    )
    make_pdf(root / "Fire" / "sprinklers.pdf", ["Sprinkler heads are spaced at most 3.0 m apart in racking."])
    store = LanceDBVectorStore(tmp_path / "index")
    Ingestor(store, embedder).ingest([root])
    return Retriever(store, embedder)


def test_prompt_holds_numbered_passages_with_source_and_page(retriever):
    gen = FakeGenerator(["There are 412 car parking spaces [1]."])
    answer = AnswerPipeline(retriever, gen, k=3).ask("How many car parking spaces do we have?")
    system = gen.history[0][0].content
    assert gen.history[0][-1].content == "How many car parking spaces do we have?"
    assert "[1] (Design/criteria.pdf – page 2)\n21 01 13 Parking." in system
    assert "only the numbered passages" in system and NOT_FOUND in system
    assert answer.found and answer.answer == "There are 412 car parking spaces [1]."
    assert (answer.citations[0].source, answer.citations[0].page) == ("Design/criteria.pdf", 2)
    # The citations are the passages retrieved, in rank order; the model read those close to
    # the best one (rag/trimming.py), under the same numbers, and the record keeps what it read.
    assert [c.n for c in answer.citations] == [1, 2, 3]
    assert answer.context and answer.context in system
    read = [c for c in answer.citations if f"[{c.n}] ({c.label})\n{c.text}" in system]
    assert [c.n for c in read][:2] == [1, 2] and "Sprinkler" not in system
    assert answer.model_id == "fake-model" and answer.prompt_version == PROMPT_VERSION
    assert answer.latency_ms >= answer.retrieval_ms >= 0


def test_unrelated_question_is_not_found_without_asking_the_model(retriever):
    gen = FakeGenerator()
    answer = AnswerPipeline(retriever, gen, min_similarity=0.3).ask("Who won the football world cup in 1966?")
    assert not answer.found and answer.answer == NOT_FOUND
    assert gen.history == []
    assert answer.citations, "the passages that were searched are still shown"


def test_model_saying_not_found_marks_the_answer(retriever):
    gen = FakeGenerator([NOT_FOUND])
    answer = AnswerPipeline(retriever, gen).ask("How many trailer positions are electrified?")
    assert not answer.found and answer.citations


def test_empty_index_is_not_found(tmp_path, embedder):
    gen = FakeGenerator()
    answer = AnswerPipeline(Retriever(LanceDBVectorStore(tmp_path / "empty"), embedder), gen).ask("parking?")
    assert not answer.found and answer.citations == [] and gen.history == []


def test_follow_up_is_asked_as_a_standalone_question_without_earlier_answers(retriever):
    gen = FakeGenerator(["38 trailer positions [1]."])
    history = [Turn(question="How many car parking spaces do we have?", answer="We have 412 spaces [1].")]
    pipeline = AnswerPipeline(retriever, gen, k=2)
    answer = pipeline.ask("And how many for trailers?", history=history)
    assert [m.role for m in gen.history[0]] == ["system", "user"]
    assert gen.history[0][1].content == "How many car parking spaces do we have? And how many for trailers?"
    assert not any("We have 412 spaces" in m.content for m in gen.history[0])
    assert answer.citations[0].page == 2  # found through the earlier question
    assert answer.question == "And how many for trailers?"  # recorded as the user asked it


def test_a_question_that_stands_alone_is_answered_from_its_own_passages(retriever):
    """Issue 25: after a parking question, "What is the effective capacity of the sprinkler storage
    tank?" was searched together with the parking question and the model copied its earlier answer."""
    gen = FakeGenerator(["Heads are at most 3.0 m apart [1]."])
    history = [Turn(question="How many car parking spaces do we have?", answer="The site provides 412 spaces [1].")]
    answer = AnswerPipeline(retriever, gen, k=1).ask("How far apart are the sprinkler heads in racking?", history)
    assert [c.source for c in answer.citations] == ["Fire/sprinklers.pdf"]
    assert [m.role for m in gen.history[0]] == ["system", "user"]
    assert gen.history[0][1].content == "How far apart are the sprinkler heads in racking?"
    assert "412" not in "".join(m.content for m in gen.history[0])


FIRE_PUMP = "The fire pump delivers 20 litres per second at 7 bar from the diesel engine room."


def test_an_answer_repeating_an_earlier_answer_that_no_passage_holds_is_flagged(retriever):
    gen = FakeGenerator([f"The site provides 412 car parking spaces [1]. {FIRE_PUMP}"])
    history = [Turn(question="What does the fire pump deliver?", answer=f"{FIRE_PUMP} It is tested weekly.")]
    answer = AnswerPipeline(retriever, gen, k=3).ask("How many car parking spaces do we have?", history)
    assert answer.grounding.repeated == [FIRE_PUMP]
    assert [(s.text, s.citation) for s in answer.grounding.sentences] == [
        ("The site provides 412 car parking spaces [1].", 1),
        (FIRE_PUMP, None),
    ]
    assert answer.grounding.unsupported_sentences == [FIRE_PUMP]


def test_a_fact_quoted_again_from_a_passage_cited_now_is_not_a_copy(retriever):
    sentence = "The site provides 412 car parking spaces and 38 trailer positions [1]."
    gen = FakeGenerator([sentence])
    history = [Turn(question="How many car parking spaces do we have?", answer=sentence)]
    answer = AnswerPipeline(retriever, gen, k=3).ask("And how many trailer positions?", history)
    assert answer.found and answer.grounding.repeated == []
    assert answer.grounding.sentences[0].citation == 1


def test_a_reply_that_loops_is_stopped_and_its_repeats_dropped(retriever):
    loop = "The site provides 412 car parking spaces [1]. " * 6
    events = list(AnswerPipeline(retriever, FakeGenerator([loop]), k=2).stream("How many car parking spaces?"))
    answer = events[-1].answer
    assert answer.answer == "The site provides 412 car parking spaces [1]."
    assert "".join(e.token for e in events if e.kind == "token").strip() == answer.answer
    kept = AnswerPipeline(retriever, FakeGenerator([loop]), k=2, stop_repeats=False).ask("How many car parking spaces?")
    assert kept.answer == loop.strip()


def test_streaming_says_what_it_does_then_citations_then_tokens_then_answer(retriever):
    events = list(AnswerPipeline(retriever, FakeGenerator(["412 spaces [1]."])).stream("car parking spaces?"))
    kinds = [e.kind for e in events]
    assert kinds[:4] == ["status", "citations", "status", "token"] and kinds[-1] == "answer"
    assert events[0].token == "Searching the documents…" and events[2].token.startswith("Writing the answer from")
    assert set(kinds[3:-1]) == {"token"}
    assert "".join(e.token for e in events if e.kind == "token").strip() == events[-1].answer.answer


def test_an_off_topic_question_inside_a_conversation_is_not_found(retriever):
    gen = FakeGenerator(["412 car parking spaces [1].", "38 trailer positions [1]."])
    pipeline = AnswerPipeline(retriever, gen, k=3)
    first = pipeline.ask("How many car parking spaces do we have?")
    history = [Turn(question=first.question, answer=first.answer)]
    follow_up = pipeline.ask("And the trailers?", history=history)
    assert follow_up.found and follow_up.citations[0].page == 2
    history.append(Turn(question=follow_up.question, answer=follow_up.answer))
    off_topic = pipeline.ask("What is the capital of France?", history=history)
    assert not off_topic.found and off_topic.answer == NOT_FOUND
    assert len(gen.history) == 2, "the model was not asked the third question"


def test_numbers_in_no_passage_are_flagged_and_sentences_attributed(retriever):
    gen = FakeGenerator(["The site provides 100 car parking spaces. Parking spaces are 2.5 m by 5.0 m."])
    answer = AnswerPipeline(retriever, gen, k=3).ask("How many car parking spaces are there and how big?")
    assert answer.found and answer.unsupported == ["100"]
    assert [s.citation for s in answer.grounding.sentences] == [1, 2]
    assert (
        answer.grounding.marked()
        == "The site provides 100 car parking spaces [1]. Parking spaces are 2.5 m by 5.0 m [2]."
    )
    assert answer.grounding.supporting == {
        1: "The site provides 412 car parking spaces and 38 trailer positions.",
        2: "Minimum parking space size is 2.5 m by 5.0 m for cars.",
    }
    # A sentence about what no passage says gets no marker.
    other = AnswerPipeline(
        retriever, FakeGenerator(["Sprinklers are 3.0 m apart. The roof has 17 coats of blue paint."]), k=3
    )
    answer = other.ask("How far apart are the sprinkler heads?")
    assert answer.unsupported == ["17"]
    assert [s.citation is None for s in answer.grounding.sentences] == [False, True]


def test_filters_restrict_the_passages(retriever):
    answer = AnswerPipeline(retriever, FakeGenerator(), k=5).ask(
        "spacing of sprinkler heads", filters=SearchFilters(folder="Design")
    )
    assert {c.source for c in answer.citations} == {"Design/criteria.pdf"}


@pytest.mark.parametrize("question", ["", "   ", "x" * 2001])
def test_bad_questions_are_rejected(retriever, question):
    with pytest.raises(InvalidQuery):
        AnswerPipeline(retriever, FakeGenerator()).ask(question)


def test_keyword_overlap_alone_does_not_make_an_off_topic_question_relevant(retriever):
    gen = FakeGenerator()
    # "parking" matches by keyword, but the question is about something the documents never discuss.
    answer = AnswerPipeline(retriever, gen, min_similarity=0.9).ask(
        "Is parking free for the football fans on match days?"
    )
    assert not answer.found and gen.history == []
    coded = AnswerPipeline(retriever, gen, min_similarity=0.9).ask("21 01 13")
    assert coded.found and len(gen.history) == 1, "an exact section number found by keyword is evidence"


def test_querying_with_another_embedding_model_is_refused(retriever):
    from rag.errors import EmbeddingModelMismatch

    class OtherModel:
        model_id = "another-model"
        dimension = 384

        def embed_query(self, text):
            raise AssertionError("must refuse before embedding")

    other = Retriever(retriever.store, OtherModel())
    with pytest.raises(EmbeddingModelMismatch, match="built with embedding model 'all-MiniLM-L6-v2'"):
        other.search("parking")
    assert other.search("parking", mode="keyword"), "keyword search does not use the vectors"


def test_a_long_earlier_question_does_not_make_a_follow_up_too_long(retriever):
    history = [Turn(question="parking " * 190, answer="412.")]
    answer = AnswerPipeline(retriever, FakeGenerator(), k=2).ask("And trailers? " * 40, history=history)
    assert answer.citations


def test_each_page_is_cited_once_and_the_next_pages_fill_in():
    from rag.records import Chunk, ScoredChunk
    from rag.retrieval import one_per_page

    def hit(source, page, cid, score):
        chunk = Chunk(id=cid, source=source, folder="", page=page, text=cid, doc_hash="h")
        return ScoredChunk(chunk=chunk, score=score)

    ranked = [
        hit("a.pdf", 3, "a3-1", 0.9),
        hit("a.pdf", 3, "a3-2", 0.8),
        hit("b.md", None, "b1", 0.7),
        hit("b.md", None, "b2", 0.6),
        hit("a.pdf", 4, "a4", 0.5),
        hit("a.pdf", 3, "a3-3", 0.4),
    ]
    assert [r.chunk.id for r in one_per_page(ranked, 3)] == ["a3-1", "b1", "b2"]
    assert [r.chunk.id for r in one_per_page(ranked, 10)] == ["a3-1", "b1", "b2", "a4"]
