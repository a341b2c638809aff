"""A scripted HTTP server on 127.0.0.1 for testing the remote backends over real sockets.

Tests queue replies (status, headers, a body sent whole or as HTTP/1.1 chunks, optional pauses
and an early hang-up) or install a function that builds a reply per request; every request is
recorded with its path, headers and body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import unquote


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | list[bytes] = b""  # a list is sent with Transfer-Encoding: chunked, one chunk each
    pause_after: int | None = None  # index of the chunk after which to stall
    pause: float = 0.0
    hang_up: bool = False  # close the connection without the terminating chunk

    @classmethod
    def json(cls, data, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode())


def aws_error(status: int, code: str, message: str, **extra) -> Reply:
    """An AWS rest-json error: the code in ``x-amzn-ErrorType``, the message in the body."""
    return Reply.json(
        {"message": message, **extra},
        status,
        {
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.service/",
            "x-amzn-RequestId": "req-1",
        },
    )


def event_stream(chunks: list[bytes], **kwargs) -> Reply:
    return Reply(
        200, {"Content-Type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": "req-1"}, chunks, **kwargs
    )


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


class ScriptedServer:
    def __init__(self):
        self.replies: list[Reply] = []
        self.respond: Callable[[Recorded], Reply] | None = None
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded("POST", unquote(self.path), dict(self.headers), self.rfile.read(length))
                with server._lock:
                    server.requests.append(request)
                    reply = server.replies.pop(0) if server.replies else None
                if reply is None:
                    reply = server.respond(request) if server.respond else Reply(500, {}, b"no scripted reply")
                self.send_reply(reply)

            do_GET = do_POST

            def send_reply(self, reply: Reply):
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, chunk in enumerate(reply.body):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    if reply.pause_after == i:
                        time.sleep(reply.pause)
                if reply.hang_up:
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                # A client that stops reading (a test's timeout, an error mid-stream) hangs up.
                import sys

                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="scripted-http", daemon=True
        )

    def reply(self, *replies: Reply) -> ScriptedServer:
        with self._lock:
            self.replies.extend(replies)
        return self

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def chat_completion(text: str) -> Reply:
    """An OpenAI-style (vLLM) chat completion whose reply is ``text``."""
    message = {"role": "assistant", "content": text}
    return Reply.json(
        {"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    )


def serve_role(monkeypatch, role: str, server: ScriptedServer, model: str, concurrency: int) -> None:
    """Point a second model (``role``: "judge" or "synth") at ``server`` as an OpenAI-compatible one."""
    prefix = f"RAGBOT_{role.upper()}_"
    monkeypatch.setenv(f"{prefix}BACKEND", "openai")
    monkeypatch.setenv(f"{prefix}OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv(f"{prefix}OPENAI_MODEL", model)
    monkeypatch.setenv(f"{prefix}CONCURRENCY", str(concurrency))


class DripServer:
    """An HTTP server on 127.0.0.1 that answers every request one byte at a time, ``interval``
    seconds apart: the status line and headers at once (``headers_first``) or dripped too, then
    ``body`` repeated until ``limit`` seconds have passed (then it hangs up). It stands for a
    model server that keeps a connection alive with a trickle and never finishes. ``chunked``
    sends each byte of the body as its own HTTP/1.1 chunk (how AWS streams its event streams).

    ``stop()`` (or leaving the ``with`` block) ends every drip and closes the server.
    """

    def __init__(
        self,
        body: bytes,
        *,
        interval: float = 0.05,
        limit: float = 8.0,
        headers_first: bool = True,
        content_type: str = "application/json",
        chunked: bool = False,
    ):
        self.started: list[float] = []
        self._stop = threading.Event()
        server = self
        head = b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type.encode()
        head += b"\r\nTransfer-Encoding: chunked" if chunked else b""
        head += b"\r\nConnection: close\r\n\r\n"
        pieces = [b"1\r\n%c\r\n" % b for b in body] if chunked else [body[i : i + 1] for i in range(len(body))]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                began = time.monotonic()
                server.started.append(began)
                self.close_connection = True
                drips = [] if headers_first else [head[i : i + 1] for i in range(len(head))]
                try:
                    if headers_first:
                        self.wfile.write(head)
                        self.wfile.flush()
                    while not server._stop.is_set() and time.monotonic() - began < limit:
                        if not drips:
                            drips = list(pieces)
                        self.wfile.write(drips.pop(0))
                        self.wfile.flush()
                        server._stop.wait(interval)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="drip-http", daemon=True)

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
