"""An encoder for the AWS event-stream wire format (``application/vnd.amazon.eventstream``).

Each message: a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the
headers (name length, name, type 7 = string, value length, value), the payload, and a CRC32 of
everything before it. SageMaker's InvokeEndpointWithResponseStream and Bedrock's ConverseStream
answer with a sequence of such messages; botocore decodes them.
"""

from __future__ import annotations

import json
import struct
import zlib

STRING = 7


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded_headers = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        encoded_headers += struct.pack(">B", len(n)) + n + struct.pack(">BH", STRING, len(v)) + v
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded_headers + payload
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)


def event(event_type: str, payload: bytes, content_type: str = "application/octet-stream") -> bytes:
    """A normal event (``:message-type`` event)."""
    return encode_message({":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload)


def exception(exception_type: str, body: dict) -> bytes:
    """An exception event, which ends the stream (``:message-type`` exception)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps(body).encode())


def payload_parts(*parts: bytes) -> list[bytes]:
    """SageMaker ``PayloadPart`` events, one per byte string, exactly as split here."""
    return [event("PayloadPart", part) for part in parts]


def bedrock_event(event_type: str, body: dict) -> bytes:
    """A ConverseStream event; Bedrock pads each payload with a random ``p`` field."""
    return event(
        event_type, json.dumps({**body, "p": "abcdefghij"[: len(event_type) % 10]}).encode(), "application/json"
    )


def split_every(data: bytes, size: int) -> list[bytes]:
    """``data`` in pieces of ``size`` bytes: HTTP chunks that cut through event boundaries."""
    return [data[i : i + size] for i in range(0, len(data), size)]
