"""`ragbot feedback init-table` and the app's answer path on DynamoDB, over HTTP to moto's server."""

from click.testing import CliRunner

from app.cli import cli


def test_init_table_then_record_and_rate_through_the_services(aws_env, table_name, monkeypatch):
    monkeypatch.setenv("RAGBOT_FEEDBACK_STORE", "dynamodb")
    monkeypatch.setenv("RAGBOT_DYNAMODB_TABLE", table_name)
    first = CliRunner().invoke(cli, ["feedback", "init-table"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(cli, ["feedback", "init-table"])
    assert again.exit_code == 0 and "already exists" in again.output

    from app.config import Settings
    from app.services import Services
    from rag.records import Answer, Citation

    services = Services(Settings())
    citation = Citation(n=1, source="Design/criteria.pdf", page=12, chunk_id="c", score=0.1, text="412 spaces")
    rec = services.chat.record_answer(
        Answer(
            question="parking?",
            answer="412 [1].",
            found=True,
            citations=[citation],
            model_id="m",
            prompt_version="p",
            latency_ms=5,
        ),
        session_id="s",
        turn=1,
    )
    services.chat.rate(rec.id, 1, correction="412 and 38 trailers", note="page 12")
    assert not services.chat.last_write_queued()
    stored = services.backends.feedback_store.inner.get(rec.id)
    assert type(services.backends.feedback_store.inner).__name__ == "DynamoDBFeedbackStore"
    assert (stored.feedback.rating, stored.feedback.label, stored.feedback.note) == (1, "Strongly disagree", "page 12")
    flushed = CliRunner().invoke(cli, ["feedback", "flush"])
    assert flushed.exit_code == 0 and "Replayed 0 queued writes; 0 still waiting." in flushed.output


def test_init_table_refuses_the_sqlite_store():
    result = CliRunner().invoke(cli, ["feedback", "init-table"])
    assert result.exit_code == 1 and "RAGBOT_FEEDBACK_STORE=dynamodb" in result.output
