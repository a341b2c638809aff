"""SageMakerGenerator against a local server speaking the SageMaker Runtime wire protocol.

The streaming replies are real binary event streams, decoded by botocore's own parser; errors are
real rest-json error responses, retried by botocore's standard retry mode.
"""

import json

import pytest

from rag.errors import GeneratorError, ThrottledError
from rag.generators.base import GenerationParams, Message
from rag.generators.sagemaker import SageMakerGenerator, fold_system, mistral_prompt
from rag.generators.streams import iter_lines
from tests.rag.generators.conftest import REGION
from tests.rag.generators.eventstream import exception, payload_parts, split_every
from tests.rag.generators.servers import Reply, aws_error, event_stream

SYSTEM = Message(role="system", content="Answer from the passages.\n\n[1] Parking: 412 spaces.")
QUESTION = Message(role="user", content="How many parking spaces?")


def tgi_line(text: str, special: bool = False, final: str | None = None) -> bytes:
    token = {"id": 1, "text": text, "logprob": -0.1, "special": special}
    return (
        b"data:"
        + json.dumps({"token": token, "generated_text": final, "details": None}, ensure_ascii=False).encode()
        + b"\n\n"
    )


def lmi_line(content: str | None, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish}
    chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice]}
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"


@pytest.fixture
def tgi(server, aws_env):
    return SageMakerGenerator("tgi-ep", container="tgi", endpoint_url=server.url, max_attempts=3)


@pytest.fixture
def lmi(server, aws_env):
    return SageMakerGenerator("lmi-ep", container="lmi", endpoint_url=server.url, max_attempts=3)


# -- prompts -----------------------------------------------------------------------------------


def test_mistral_prompt_follows_mistral_commons_v1_template():
    """mistral-common (tokenizer v1, Mistral-7B-Instruct v0.1/v0.2) renders a conversation as
    "<s> [INST] Q1 [/INST] A1</s> [INST] SYS\\n\\nQ2 [/INST]": the system prompt before the last user
    message. TGI adds the <s> itself, so the prompt carries none."""
    messages = [
        Message(role="system", content="SYS"),
        Message(role="user", content="Q1"),
        Message(role="assistant", content="A1"),
        Message(role="user", content="Q2"),
    ]
    assert mistral_prompt(messages) == "[INST] Q1 [/INST] A1</s> [INST] SYS\n\nQ2 [/INST]"
    assert "<s>" not in mistral_prompt(messages)


def test_mistral_prompt_single_turn_and_without_system():
    assert (
        mistral_prompt([Message(role="system", content="SYS"), Message(role="user", content="Q")])
        == "[INST] SYS\n\nQ [/INST]"
    )
    assert mistral_prompt([Message(role="user", content="Q")]) == "[INST] Q [/INST]"


def test_mistral_prompt_rejects_a_conversation_that_does_not_end_with_the_user():
    with pytest.raises(GeneratorError, match="start and end with a user turn"):
        mistral_prompt([Message(role="user", content="Q"), Message(role="assistant", content="A")])
    with pytest.raises(GeneratorError):
        mistral_prompt([Message(role="system", content="only instructions")][:0])


def test_fold_system_joins_consecutive_turns_of_one_role():
    folded = fold_system([SYSTEM, Message(role="user", content="a"), Message(role="user", content="b")])
    assert [m.model_dump() for m in folded] == [{"role": "user", "content": f"{SYSTEM.content}\n\na\n\nb"}]


def test_iter_lines_reassembles_lines_split_anywhere():
    data = 'data:{"t":"Grö–ße"}\n\ndata:{"t":"x"}\r\ntail'.encode()
    expected = [('data:{"t":"Grö–ße"}', True), ('data:{"t":"x"}', True), ("tail", False)]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            assert list(iter_lines([data[:i], data[i:j], data[j:]])) == expected


# -- requests --------------------------------------------------------------------------------


def test_tgi_request_is_greedy_at_temperature_zero():
    gen = SageMakerGenerator("ep")
    body = gen.request_body([SYSTEM, QUESTION], GenerationParams(max_new_tokens=64, temperature=0.0), stream=False)
    assert body == {
        "inputs": f"[INST] {SYSTEM.content}\n\n{QUESTION.content} [/INST]",
        "parameters": {
            "max_new_tokens": 64,
            "repetition_penalty": 1.0,
            "return_full_text": False,
            "stop": ["</s>"],
            "do_sample": False,
        },
        "stream": False,
    }
    sampled = gen.request_body([QUESTION], GenerationParams(temperature=0.7, top_p=0.9), stream=True)["parameters"]
    assert (sampled["do_sample"], sampled["temperature"], sampled["top_p"]) == (True, 0.7, 0.9)
    assert "seed" not in sampled


def test_a_regeneration_samples_with_its_own_seed_on_tgi_and_lmi():
    params = GenerationParams(temperature=0.7, top_p=0.9, seed=1234)
    tgi = SageMakerGenerator("ep").request_body([QUESTION], params, stream=True)["parameters"]
    assert (tgi["do_sample"], tgi["temperature"], tgi["top_p"], tgi["seed"]) == (True, 0.7, 0.9, 1234)
    greedy = SageMakerGenerator("ep").request_body([QUESTION], GenerationParams(seed=1234), stream=True)
    assert "seed" not in greedy["parameters"], "greedy decoding has nothing to seed"
    lmi = SageMakerGenerator("ep", container="lmi").request_body([QUESTION], params, stream=True)
    assert (lmi["temperature"], lmi["top_p"], lmi["seed"]) == (0.7, 0.9, 1234)


def test_init_is_lazy(monkeypatch):
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    gen = SageMakerGenerator("ep")
    assert not gen._aws.made and "ep" in repr(gen)


def test_no_region_is_a_clear_error(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(GeneratorError, match="AWS_REGION"):
        SageMakerGenerator("ep").generate([QUESTION])


# -- TGI -----------------------------------------------------------------------------------


def test_tgi_generate(tgi, server):
    server.reply(Reply.json([{"generated_text": " There are 412 spaces [1]."}]))
    assert tgi.generate([SYSTEM, QUESTION]) == " There are 412 spaces [1]."
    (request,) = server.requests
    assert request.path == "/endpoints/tgi-ep/invocations"
    assert (
        request.headers["Content-Type"] == "application/json" and "AWS4-HMAC-SHA256" in request.headers["Authorization"]
    )
    assert f"/{REGION}/sagemaker/aws4_request" in request.headers["Authorization"]
    assert request.json["inputs"] == mistral_prompt([SYSTEM, QUESTION]) and request.json["stream"] is False


def test_tgi_stream_reassembles_lines_split_across_events(tgi, server):
    second = tgi_line(" Größe")  # "ö" is two bytes in UTF-8
    cut = second.index("ö".encode()) + 1
    parts = payload_parts(
        tgi_line(" There"),
        # one JSON line in three events
        second[:7],
        second[7:cut],
        second[cut:],  # the third cut goes through the "ö"
        tgi_line(" 412 – ok") + tgi_line("</s>", special=True, final=" There Größe 412 – ok"),
    )
    dash = tgi_line(" 412 – ok")
    assert b"\xe2\x80\x93" in dash  # the en dash, three bytes
    server.reply(event_stream(split_every(b"".join(parts), 13)))
    pieces = list(tgi.stream([SYSTEM, QUESTION]))
    assert pieces == [" There", " Größe", " 412 – ok"]
    (request,) = server.requests
    assert request.path == "/endpoints/tgi-ep/invocations-response-stream" and request.json["stream"] is True


def test_tgi_stream_with_a_multibyte_character_split_between_two_events(tgi, server):
    line = tgi_line("Ausführung", final="Ausführung")
    cut = line.index("ü".encode()) + 1
    server.reply(event_stream(payload_parts(line[:cut], line[cut:])))
    assert list(tgi.stream([QUESTION])) == ["Ausführung"]


def test_tgi_error_line_in_the_stream(tgi, server):
    error = b'data:{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}\n\n'
    server.reply(event_stream(payload_parts(tgi_line("The"), error)))
    pieces = []
    with pytest.raises(GeneratorError, match="CUDA out of memory"):
        for piece in tgi.stream([QUESTION]):
            pieces.append(piece)  # noqa: PERF402 - keeps what came before the error
    assert pieces == ["The"]


def test_stream_that_ends_mid_line_is_an_error(tgi, server):
    server.reply(event_stream(payload_parts(tgi_line("The"), tgi_line(" end")[:12])))
    with pytest.raises(GeneratorError, match="middle of a line"):
        list(tgi.stream([QUESTION]))


def test_stream_that_ends_before_the_final_event_is_an_error(tgi, server):
    server.reply(event_stream(payload_parts(tgi_line("The"))))
    with pytest.raises(GeneratorError, match="ended before the model finished"):
        list(tgi.stream([QUESTION]))


def test_model_stream_error_event(tgi, server):
    failure = exception("ModelStreamError", {"Message": "Model container crashed", "ErrorCode": "ModelStreamError"})
    server.reply(event_stream(payload_parts(tgi_line("The")) + [failure]))
    pieces = []
    with pytest.raises(GeneratorError, match="failed while streaming: Model container crashed"):
        for piece in tgi.stream([QUESTION]):
            pieces.append(piece)  # noqa: PERF402 - keeps what came before the error
    assert pieces == ["The"]


def test_internal_stream_failure_event(tgi, server):
    server.reply(event_stream([exception("InternalStreamFailure", {"Message": "Internal failure"})]))
    with pytest.raises(GeneratorError, match="InternalStreamFailure"):
        list(tgi.stream([QUESTION]))


def test_stream_stalling_past_the_read_timeout(server, aws_env):
    gen = SageMakerGenerator("tgi-ep", endpoint_url=server.url, read_timeout=0.5, max_attempts=1)
    server.reply(
        event_stream(payload_parts(tgi_line("The"), tgi_line(" end", final="The end")), pause_after=0, pause=2.0)
    )
    with pytest.raises(GeneratorError, match="did not answer within the read timeout"):
        list(gen.stream([QUESTION]))


# -- LMI -----------------------------------------------------------------------------------


def test_lmi_generate_uses_the_messages_api(lmi, server):
    message = {"role": "assistant", "content": "412 spaces [1]."}
    reply = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    server.reply(Reply.json(reply))
    assert lmi.generate([SYSTEM, QUESTION], GenerationParams(max_new_tokens=50)) == "412 spaces [1]."
    body = server.requests[0].json
    # Mistral's prompt format has no system turn: it travels in the last user message.
    assert body["messages"] == [{"role": "user", "content": f"{SYSTEM.content}\n\n{QUESTION.content}"}]
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["stream"]) == (50, 0.0, 0.9, False)


def test_lmi_stream(lmi, server):
    lines = (
        lmi_line(None)
        + lmi_line("412")
        + lmi_line(" spaces – [1].")
        + lmi_line(None, finish="stop")
        + b"data: [DONE]\n\n"
    )
    server.reply(event_stream(payload_parts(*split_every(lines, 11))))
    assert list(lmi.stream([SYSTEM, QUESTION])) == ["412", " spaces – [1]."]
    assert server.requests[0].json["stream"] is True


def test_lmi_reply_in_the_tgi_shape_names_the_container_setting(lmi, server):
    server.reply(Reply.json([{"generated_text": "x"}]))
    with pytest.raises(GeneratorError, match="RAGBOT_SAGEMAKER_CONTAINER"):
        lmi.generate([QUESTION])


# -- errors ----------------------------------------------------------------------------------


def test_endpoint_not_found_names_endpoint_region_and_setting(tgi, server):
    server.reply(aws_error(400, "ValidationError", "Endpoint tgi-ep of account 123456789012 not found."))
    with pytest.raises(GeneratorError) as info:
        tgi.generate([QUESTION])
    message = str(info.value)
    assert "'tgi-ep'" in message and REGION in message and "RAGBOT_SAGEMAKER_ENDPOINT" in message
    assert len(server.requests) == 1  # not retried


def test_endpoint_not_found_when_streaming(tgi, server):
    server.reply(aws_error(400, "ValidationError", "Endpoint tgi-ep of account 123456789012 not found."))
    with pytest.raises(GeneratorError, match="RAGBOT_SAGEMAKER_ENDPOINT"):
        list(tgi.stream([QUESTION]))


def test_model_error_carries_the_models_message(tgi, server):
    original = '{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096","error_type":"validation"}'
    server.reply(
        aws_error(
            424,
            "ModelError",
            f'Received client error (422) from primary with message "{original}". See the logs.',
            OriginalStatusCode=422,
            OriginalMessage=original,
            ErrorCode="CLIENT_ERROR_FROM_MODEL",
            LogStreamArn=f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/sagemaker/Endpoints/tgi-ep",
        )
    )
    with pytest.raises(GeneratorError) as info:
        tgi.generate([QUESTION])
    message = str(info.value)
    assert "must be <= 4096" in message and "422" in message and "log-group:/aws/sagemaker/Endpoints/tgi-ep" in message


def test_throttling_is_retried_then_reported(tgi, server):
    server.reply(*[aws_error(400, "ThrottlingException", "Rate exceeded")] * 3)
    with pytest.raises(ThrottledError, match="throttling.*after 3 attempts"):
        tgi.generate([QUESTION])
    assert len(server.requests) == 3


def test_throttling_once_then_success(tgi, server):
    server.reply(aws_error(400, "ThrottlingException", "Rate exceeded"), Reply.json([{"generated_text": "ok"}]))
    assert tgi.generate([QUESTION]) == "ok"
    assert len(server.requests) == 2


def test_stream_throttled_before_it_starts(tgi, server):
    server.reply(*[aws_error(400, "ThrottlingException", "Rate exceeded")] * 3)
    with pytest.raises(GeneratorError, match="throttling"):
        list(tgi.stream([QUESTION]))


def test_unreachable_endpoint(aws_env):
    from bench.servers import free_port

    gen = SageMakerGenerator("ep", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, connect_timeout=1)
    with pytest.raises(GeneratorError, match="Cannot reach SageMaker endpoint 'ep'"):
        gen.generate([QUESTION])


def test_a_given_client_is_used_as_is(server, aws_env):
    import boto3

    client = boto3.client("sagemaker-runtime", endpoint_url=server.url, region_name="us-east-2")
    gen = SageMakerGenerator("ep", client=client)
    server.reply(Reply.json([{"generated_text": "ok"}]))
    assert gen.generate([QUESTION]) == "ok" and gen.client is client
    assert "/us-east-2/sagemaker/aws4_request" in server.requests[0].headers["Authorization"]
