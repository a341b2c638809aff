# The scripted HTTP server and the fake AWS environment are shared with the generator tests.
from tests.rag.generators.conftest import aws_env, server  # noqa: F401
