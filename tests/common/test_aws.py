"""common/aws.py: the one place AWS clients are configured, for rag and feedback alike."""

from __future__ import annotations

import os

import pytest

from common.aws import ClientOptions, LazyClient, error_code, error_text


class Refused(Exception):
    pass


@pytest.fixture
def sdk_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    return monkeypatch


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_attempts", 0),
        ("retry_mode", "eager"),
        ("connect_timeout", 0),
        ("read_timeout", -1),
        ("max_pool_connections", 0),
    ],
)
def test_options_name_what_is_wrong(option, value):
    with pytest.raises(ValueError, match=f"{option}={value!r}"):
        ClientOptions(**{option: value})


def test_the_client_gets_every_option(sdk_env):
    options = ClientOptions(
        region="eu-west-3",
        endpoint_url="http://127.0.0.1:9",
        max_attempts=2,
        retry_mode="adaptive",
        connect_timeout=1.5,
        read_timeout=7,
        max_pool_connections=32,
        user_agent_extra="ragbot-test",
    )
    aws = LazyClient("dynamodb", options, error=Refused)
    assert not aws.made and aws.current is None and aws.region == "eu-west-3"
    client = aws.get()
    config = client.meta.config
    assert (client.meta.region_name, client.meta.endpoint_url) == ("eu-west-3", "http://127.0.0.1:9")
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 2}
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (1.5, 7, 32)
    assert "ragbot-test" in config.user_agent_extra
    assert aws.get() is client  # made once


def test_region_falls_back_to_aws_region_and_a_missing_one_raises_the_callers_error(sdk_env):
    sdk_env.setenv("AWS_REGION", "ap-southeast-2")
    assert LazyClient("sagemaker-runtime", error=Refused).get().meta.region_name == "ap-southeast-2"
    sdk_env.setenv("AWS_DEFAULT_REGION", "eu-central-1")  # botocore's own variable wins
    assert LazyClient("sagemaker-runtime", error=Refused).get().meta.region_name == "eu-central-1"
    sdk_env.delenv("AWS_REGION")
    sdk_env.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(Refused, match="SageMaker endpoint 'x': no AWS region is configured; set AWS_REGION"):
        LazyClient("sagemaker-runtime", error=Refused, what="SageMaker endpoint 'x'").get()


def test_a_forked_child_builds_its_own_client(sdk_env):
    sdk_env.setenv("AWS_REGION", "us-east-1")
    aws = LazyClient("dynamodb", error=Refused)
    parent = aws.get()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports whether it got a new client, and leaves at once
        os.close(read)
        os.write(write, b"new" if aws.get() is not parent else b"same")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 10)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"new"
    assert aws.get() is parent


def test_a_given_client_is_used_and_never_closed():
    class Client:
        closed = False

        def close(self):
            self.closed = True

    given = Client()
    aws = LazyClient("dynamodb", client=given, error=Refused)
    assert aws.made and aws.get() is given
    aws.close()
    assert not given.closed


def test_error_fields_are_read_from_error_code_and_message():
    from botocore.exceptions import ClientError

    # What botocore builds for an exception event inside a stream: only Code and Message.
    streamed = ClientError({"Error": {"Code": "throttlingException", "Message": "Too many tokens"}}, "ConverseStream")
    assert (error_code(streamed), error_text(streamed)) == ("throttlingException", "Too many tokens")
    bare = ClientError({"Error": {}}, "InvokeEndpoint")
    assert error_code(bare) == "" and "InvokeEndpoint" in error_text(bare)
    assert error_code(ValueError("x")) == "" and error_text(ValueError("x")) == "x"


def test_clients_share_one_loader_of_botocores_data_files(sdk_env):
    """Each client has a session of its own (credentials resolved afresh) but parses no model twice."""
    sdk_env.setenv("AWS_REGION", "us-east-1")
    first = LazyClient("dynamodb", error=Refused).get()
    second = LazyClient("dynamodb", error=Refused).get()
    assert first is not second and first._loader is second._loader
    sdk_env.delenv("AWS_ACCESS_KEY_ID")
    sdk_env.delenv("AWS_SECRET_ACCESS_KEY")
    from botocore.exceptions import NoCredentialsError

    with pytest.raises(NoCredentialsError):  # a new client does not reuse the old credentials
        LazyClient("dynamodb", ClientOptions(endpoint_url="http://127.0.0.1:9"), error=Refused).get().list_tables()
