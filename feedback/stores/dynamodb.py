"""The feedback store at scale: one on-demand DynamoDB table, designed for the review queries.

Item layout (one item per interaction, partition key ``id``):

``record``
    the whole ``Interaction`` as JSON, exactly what ``get`` returns; never read by a query.
``version``
    a counter for optimistic concurrency: every write is conditional on the version it read,
    so two processes rating, judging and reviewing the same answer at once never erase each
    other's change (the loser re-reads and re-applies its change).
``created_key``
    ``<created_at as ISO UTC, microseconds>#<id>``: the sort key of every index. It is unique,
    orders like SQLite's ``(created_at, id)``, and doubles as the pagination cursor.
filter attributes
    ``user``, ``session_id``, ``turn``, ``created_us``, ``rating`` (absent while unrated),
    ``has_correction``, ``review_status`` and ``source_prefixes``: every cited document and
    every folder above it, a string set, so "this folder and everything below it" is an exact,
    case-sensitive ``contains`` instead of a prefix match on text.
index keys
    ``time_pk``, ``rating_pk`` and ``review_pk``: low-cardinality values ("ALL", "3",
    "unrated", "validated") with a write-shard suffix ``#k`` (see ``write_shards``).

Global secondary indexes, each sorted by ``created_key`` (newest first when read backwards) and
projecting only the filter attributes, so a 300 KB record is not copied five times per write:

====================  ===================  ==========================================
index                 partition key        serves
====================  ===================  ==========================================
``by_time``           ``time_pk``          everything else (filters applied server-side)
``by_user``           ``user``             an engineer's own history; ``sessions()``
``by_session``        ``session_id``       one conversation
``by_rating``         ``rating_pk``        one rating or a range (merged), unrated
``by_review``         ``review_pk``        the SME queue: unreviewed / validated / rejected
====================  ===================  ==========================================

A listing picks the most selective index for the filter, queries it (several partitions are
merged on ``created_key``), keeps querying while DynamoDB's filtered pages come back short, then
reads the records with ``BatchGetItem``. The document/folder filter is a ``FilterExpression``
on ``source_prefixes`` rather than one item per cited source: a separate item per source would
need its own writes and deletes kept in step with the record (a rewrite of the citations must
remove the old ones) and SME reviews narrow by time, rating or status first anyway.

Hot partitions: every write lands in ``ALL`` of ``by_time``, in ``unrated`` of ``by_rating`` and
in ``unreviewed`` of ``by_review``. One partition key value takes about 1,000 writes/s; with the
small projected items that is 1,000 answers a second, far above what a team asks. If that ever
binds, raise ``write_shards``: items are spread over ``ALL#0…ALL#n-1`` by a hash of the id and
reads merge the shards. Raising it is safe (readers with the new value still find old items),
lowering it hides items; every process must use the same value.

Items are kept below ``max_item_bytes`` (DynamoDB's limit is 400 KB): the context the model saw
is cut first, then the citations' passages, then the judge's raw reply, the reference answer,
the answer and the question, each with a visible marker, and ``context_truncated`` is set. A
record is never dropped for its size.

Region, endpoint and credentials come from the AWS SDK's own chain (``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_PROFILE``, instance and task roles), never from ragbot's
settings; ``AWS_REGION``, which botocore ignores but the other SDKs, Lambda and ECS set, is used
when botocore finds no region. The constructor's ``region`` and ``endpoint_url`` exist for tests
and explicit wiring.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import json
import logging
import os
import random
import re
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from feedback.errors import FeedbackError, NotFound, StoreUnavailable, UnreadableRecord
from feedback.records import Feedback, Interaction, JudgeScore, Review, load_stored, now
from feedback.stores.base import InteractionFilter, InteractionPage, SessionSummary, keep_attachments

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:  # pragma: no cover - boto3 is in requirements.txt
    boto3 = None

log = logging.getLogger(__name__)

RetryMode = Literal["standard", "adaptive", "legacy"]

# DynamoDB refuses items over 400 KB; the margin covers the size formula's approximations and
# lets a later rating, correction and review fit without cutting more.
MAX_ITEM_BYTES = 350_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KEY_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#.+", re.DOTALL)

SORT_KEY = "created_key"
# index name -> its partition key attribute; every index sorts on SORT_KEY.
INDEXES: dict[str, str] = {
    "by_time": "time_pk",
    "by_user": "user",
    "by_session": "session_id",
    "by_rating": "rating_pk",
    "by_review": "review_pk",
}
# What listings filter on; projected into every index so a FilterExpression can see it.
FILTER_ATTRIBUTES = (
    "user",
    "session_id",
    "turn",
    "created_us",
    "rating",
    "has_correction",
    "review_status",
    "source_prefixes",
)
_SHARDED = {"time_pk", "rating_pk", "review_pk"}

# ClientError codes that mean "not now", after botocore's own retries.
_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "LimitExceededException",
    "TransactionConflictException",
}
# ClientError codes of a deployment problem: the store cannot be used until someone fixes it,
# and the writes are worth keeping until then (see feedback/outbox.py).
_MISCONFIGURED = {
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidSignatureException": "the AWS credentials are not valid",
    "ExpiredTokenException": "the AWS credentials have expired; renew them (aws sso login, or the role)",
    "AccessDeniedException": "the AWS identity may not use this table; grant it dynamodb access",
    "MissingAuthenticationTokenException": "no AWS credentials were sent",
}


def table_definition(table_name: str) -> dict[str, Any]:
    """The ``CreateTable`` arguments of the feedback table; deploy/dynamodb-table.yaml mirrors them."""
    key_attributes = ["id", SORT_KEY, *INDEXES.values()]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in key_attributes],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    # Key attributes are always projected and may not be listed again.
                    "NonKeyAttributes": [a for a in FILTER_ATTRIBUTES if a != partition],
                },
            }
            for index, partition in INDEXES.items()
        ],
        "SSESpecification": {"Enabled": True},
    }


def _utc(value: datetime) -> datetime:
    """The instant in UTC; a naive datetime is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_key(value: datetime) -> str:
    """A fixed-width ISO UTC timestamp that sorts like the time it stands for."""
    return _utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def created_key(interaction: Interaction) -> str:
    return f"{time_key(interaction.created_at)}#{interaction.id}"


def encode_cursor(key: str) -> str:
    """The opaque cursor that resumes a listing after the item with this ``created_key``.

    It holds what a ``LastEvaluatedKey`` of the last item returned would hold that matters: its
    position on the sort key every index shares. Unlike DynamoDB's own ``LastEvaluatedKey``
    it points at the last item *returned*, not the last one DynamoDB evaluated, and it works
    across the merged partitions of a sharded or multi-rating listing.
    """
    return base64.urlsafe_b64encode(json.dumps({"v": 1, "after": key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """Inverse of ``encode_cursor``. Raises ValueError for anything it did not produce."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw.decode())
        key = data["after"] if isinstance(data, dict) and data.get("v") == 1 else None
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ValueError("not a listing position")
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(
            f"cursor={cursor!r} is not a cursor this store returned; "
            "pass back the next_cursor of the previous page unchanged"
        ) from e


def source_prefixes(sources: Iterable[str]) -> set[str]:
    """Every cited document and every folder above it: ``a/b/c.pdf`` gives ``a``, ``a/b``, ``a/b/c.pdf``."""
    out: set[str] = set()
    for source in sources:
        parts = source.split("/")
        out.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    out.discard("")
    return out


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """An upper bound of DynamoDB's size of an item (names plus values, UTF-8)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        ((kind, data),) = value.items()
        if kind == "S":
            total += len(data.encode())
        elif kind == "N":
            total += 21  # the most a number can take
        elif kind == "BOOL":
            total += 1
        elif kind == "SS":
            total += sum(len(s.encode()) + 1 for s in data) + 3
        else:  # pragma: no cover - this module writes no other kinds
            total += len(json.dumps(data).encode())
    return total


def _shard(interaction_id: str, shards: int) -> int:
    # crc32, not hash(): the same id must land in the same shard in every process.
    return zlib.crc32(interaction_id.encode()) % shards


# What the marker of a cut text can take, with room to spare.
_MARKER_ROOM = 300
_CUT_ORDER: list[tuple[str, ...]] = [
    ("context",),
    ("citations",),
    ("judge", "raw"),
    ("review", "reference_answer"),
    ("answer",),
    ("question",),
]


def _cut(text: str, drop_bytes: int) -> str:
    """``text`` without its last ``drop_bytes`` UTF-8 bytes (or all of them), and a marker that says so."""
    raw = text.encode()
    keep = raw[: max(0, len(raw) - drop_bytes)].decode(errors="ignore")
    return (
        f"{keep}\n[… {len(text) - len(keep):,} of {len(text):,} characters cut by ragbot: "
        "DynamoDB items are limited to 400 KB]"
    )


def _get(record: Interaction, path: tuple[str, ...]) -> str:
    value: Any = record
    for name in path:
        value = getattr(value, name) if value is not None else None
    return value or ""


def _replace(record: Interaction, path: tuple[str, ...], text: str) -> Interaction:
    if len(path) == 2:
        part = getattr(record, path[0])
        return record.model_copy(update={path[0]: part.model_copy(update={path[1]: text})})
    return record.model_copy(update={path[0]: text})


def _cap_citations(record: Interaction, excess: int) -> Interaction:
    """Cut the longest passages down to one common length, the largest that removes ``excess`` bytes."""
    sizes = [len(c.text.encode()) for c in record.citations]
    drop = excess + _MARKER_ROOM * sum(1 for size in sizes if size)
    low, high = 0, max(sizes, default=0)
    while low < high:  # the largest cap whose cuts add up to ``drop``
        cap = (low + high + 1) // 2
        if sum(max(0, size - cap) for size in sizes) >= drop:
            low = cap
        else:
            high = cap - 1
    citations = [
        c.model_copy(update={"text": _cut(c.text, size - low)}) if size > low else c
        for c, size in zip(record.citations, sizes, strict=True)
    ]
    return record.model_copy(update={"citations": citations})


class DynamoDBFeedbackStore:
    """Interactions in one DynamoDB table; safe to share between threads and processes.

    The boto3 client is created on first use (and again in a forked child), with botocore's
    retries (``retry_mode``, ``max_attempts``) and timeouts. Create the table once with
    ``create_table()`` (``ragbot feedback init-table``) or deploy/dynamodb-table.yaml.

    Reads of the index are eventually consistent on DynamoDB (a record written a moment ago may
    be missing from a listing for a second); ``get`` and the records of a listing are read
    strongly consistently.

    Args:
        table_name: the table.
        client: a ready boto3 DynamoDB client to use instead of building one (tests, wiring).
        region: the region, instead of the SDK's (``AWS_DEFAULT_REGION``, the profile's, ``AWS_REGION``).
        endpoint_url: the endpoint, instead of the SDK's (``AWS_ENDPOINT_URL_DYNAMODB``).
        write_shards: how many partitions the low-cardinality index keys are spread over (see
            the module docstring); only ever raise it, and use the same value everywhere.
        retry_mode, max_attempts: botocore's retry configuration (``max_attempts`` counts the
            first try). "standard" keeps a user's click short; "adaptive" also rate-limits
            the client and suits batch jobs such as a judge run.
        connect_timeout, read_timeout: seconds, per attempt.
        max_item_bytes: the size an item is cut down to; DynamoDB's hard limit is 400 KB.
        max_conflicts: how many times a write that lost a race on the same record is re-done.

    Raises:
        StoreUnavailable: from any method, when DynamoDB cannot be reached, throttles past the
            retries, the table does not exist, or the credentials or region are missing or
            not accepted.
    """

    #: Index entries DynamoDB evaluates per Query request when a FilterExpression applies; a
    #: filter that matches little then needs fewer round trips to fill a page.
    read_ahead = 200

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        write_shards: int = 1,
        retry_mode: RetryMode = "standard",
        max_attempts: int = 4,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        max_item_bytes: int = MAX_ITEM_BYTES,
        max_conflicts: int = 10,
    ) -> None:
        if not table_name:
            raise ValueError(f"table_name={table_name!r} must not be empty")
        if write_shards < 1:
            raise ValueError(f"write_shards={write_shards!r} must be 1 or more")
        if retry_mode not in ("standard", "adaptive", "legacy"):
            raise ValueError(f"retry_mode={retry_mode!r} is not one of 'standard', 'adaptive', 'legacy'")
        if max_attempts < 1:
            raise ValueError(f"max_attempts={max_attempts!r} must be 1 or more")
        if not 10_000 <= max_item_bytes <= 400_000:
            raise ValueError(f"max_item_bytes={max_item_bytes!r} must be between 10,000 and 400,000")
        if max_conflicts < 1:
            raise ValueError(f"max_conflicts={max_conflicts!r} must be 1 or more")
        self.table_name = table_name
        self.region = region
        self.endpoint_url = endpoint_url
        self.write_shards = write_shards
        self.retry_mode = retry_mode
        self.max_attempts = max_attempts
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_item_bytes = max_item_bytes
        self.max_conflicts = max_conflicts
        self._given_client = client
        self._client_obj: Any = None
        self._client_pid: int | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = f", region={self.region!r}" if self.region else ""
        where += f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"DynamoDBFeedbackStore({self.table_name!r}{where})"

    # -- client ------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use."""
        if self._given_client is not None:
            return self._given_client
        client = self._client_obj
        if client is not None and self._client_pid == os.getpid():
            return client
        with self._lock:
            if self._client_obj is None or self._client_pid != os.getpid():
                # A client inherited through fork() shares the parent's connections; build a new one.
                self._client_obj = self._build_client()
                self._client_pid = os.getpid()
            return self._client_obj

    def _build_client(self) -> Any:
        if boto3 is None:
            raise ImportError("The DynamoDB feedback store needs boto3. Install it with `pip install boto3`.")
        config = botocore.config.Config(
            # total_max_attempts counts the first try; botocore's "max_attempts" key would count
            # only the retries (one more request than the name suggests).
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=32,
            user_agent_extra="ragbot-feedback",
        )
        try:
            # A session per store: boto3's default session is not thread-safe to create clients from.
            session = boto3.session.Session()
            # botocore reads AWS_DEFAULT_REGION and the profile but not AWS_REGION, the variable
            # the other AWS SDKs, Lambda and ECS use; honour it when botocore found nothing.
            region = self.region or session.region_name or os.environ.get("AWS_REGION") or None
            return session.client("dynamodb", region_name=region, endpoint_url=self.endpoint_url, config=config)
        except botocore.exceptions.NoRegionError as e:
            raise StoreUnavailable(
                f"DynamoDB table {self.table_name!r}: no AWS region is configured; set AWS_REGION "
                "or AWS_DEFAULT_REGION (or a region in the AWS profile)"
            ) from e
        except botocore.exceptions.BotoCoreError as e:
            raise StoreUnavailable(f"DynamoDB table {self.table_name!r}: cannot build the AWS client: {e}") from e

    def close(self) -> None:
        """Close the client's connections; the next call opens new ones."""
        with self._lock:
            client, self._client_obj = self._client_obj, None
        if client is not None and self._client_pid == os.getpid():
            client.close()

    def _call(self, operation: str, *, passthrough: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call with SDK errors turned into ours; ClientErrors in ``passthrough`` stay as they are."""
        try:
            return getattr(self.client, operation)(**kwargs)
        except botocore.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", str(e))
            if code in passthrough:
                raise
            where = f"DynamoDB table {self.table_name!r}"
            if code == "ResourceNotFoundException":
                raise StoreUnavailable(
                    f"{where} does not exist in this region; create it with `ragbot feedback init-table` "
                    f"or deploy/dynamodb-table.yaml ({message})"
                ) from e
            if code in _TRANSIENT:
                raise StoreUnavailable(f"{where}: {code} after {self.max_attempts} attempts: {message}") from e
            if code in _MISCONFIGURED:
                raise StoreUnavailable(f"{where}: {_MISCONFIGURED[code]} ({code}: {message})") from e
            raise FeedbackError(f"{where} refused {operation}: {code}: {message}") from e
        except (
            botocore.exceptions.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ...
            botocore.exceptions.HTTPClientError,  # ReadTimeoutError, ConnectionClosedError
        ) as e:
            raise StoreUnavailable(f"DynamoDB table {self.table_name!r} cannot be reached: {e}") from e
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
            botocore.exceptions.CredentialRetrievalError,
            botocore.exceptions.TokenRetrievalError,
            botocore.exceptions.SSOError,
        ) as e:
            raise StoreUnavailable(
                f"DynamoDB table {self.table_name!r}: no usable AWS credentials ({e}); configure them the "
                "AWS way (environment, profile, or an instance/task role)"
            ) from e

    # -- table -------------------------------------------------------------------------------

    def create_table(self, *, wait: bool = True) -> str:
        """Create the table (on-demand billing, the five indexes, encryption with the AWS managed key).

        With ``wait``, waits until it is active and turns point-in-time recovery on. A table
        that exists already is left alone and checked for the indexes.

        Returns:
            One line that says what was done, for the command line.

        Raises:
            StoreUnavailable: DynamoDB cannot be reached or the credentials are refused.
        """
        try:
            self._call("create_table", passthrough=("ResourceInUseException",), **table_definition(self.table_name))
        except botocore.exceptions.ClientError:
            table = self._call("describe_table", TableName=self.table_name)["Table"]
            present = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
            missing = [name for name in INDEXES if name not in present]
            status = table.get("TableStatus", "?")
            if missing:
                return (
                    f"table {self.table_name!r} already exists ({status}) but lacks the indexes "
                    f"{', '.join(missing)}; add them or use another table name"
                )
            return f"table {self.table_name!r} already exists ({status}) with every index"
        if not wait:
            return f"creating table {self.table_name!r} (on demand, indexes {', '.join(INDEXES)})"
        try:
            self.client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
            )
        except botocore.exceptions.WaiterError as e:
            raise StoreUnavailable(f"table {self.table_name!r} did not become active: {e}") from e
        self._call(
            "update_continuous_backups",
            TableName=self.table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        return (
            f"created table {self.table_name!r}: on demand, encrypted, point-in-time recovery on, "
            f"indexes {', '.join(INDEXES)}"
        )

    # -- items -------------------------------------------------------------------------------

    def _pk(self, value: str, interaction_id: str) -> str:
        return f"{value}#{_shard(interaction_id, self.write_shards)}"

    def _item(self, record: Interaction, version: int) -> dict[str, dict[str, Any]]:
        feedback = record.feedback
        item: dict[str, dict[str, Any]] = {
            "id": {"S": record.id},
            "record": {"S": record.model_dump_json()},
            "version": {"N": str(version)},
            "schema_version": {"N": str(record.schema_version)},
            SORT_KEY: {"S": created_key(record)},
            "created_us": {"N": str((_utc(record.created_at) - _EPOCH) // _MICROSECOND)},
            "turn": {"N": str(record.turn)},
            "time_pk": {"S": self._pk("ALL", record.id)},
            "rating_pk": {"S": self._pk(str(feedback.rating) if feedback else "unrated", record.id)},
            "has_correction": {"BOOL": bool(feedback and feedback.correction)},
            "review_status": {"S": record.review.status},
            "review_pk": {"S": self._pk(record.review.status, record.id)},
        }
        # Index keys cannot be empty strings; such an item simply stays out of that index.
        if record.user:
            item["user"] = {"S": record.user}
        if record.session_id:
            item["session_id"] = {"S": record.session_id}
        if feedback:
            item["rating"] = {"N": str(feedback.rating)}
        prefixes = source_prefixes(record.sources)
        if prefixes:  # a string set cannot be empty
            item["source_prefixes"] = {"SS": sorted(prefixes)}
        return item

    def _fit(self, record: Interaction) -> Interaction:
        """``record``, with its longest texts cut so that its item fits ``max_item_bytes``.

        Cuts, in this order and only as far as needed: the context, the citations' passages
        (the longest down to a common length, so each keeps its beginning), the judge's raw
        reply, the reference answer, the answer, the question. Cutting n bytes of text removes
        at least n bytes of JSON (no character is shorter in JSON than in UTF-8), so one cut
        per text is enough unless the text is used up.
        """
        size = original = item_size(self._item(record, 0))
        if size <= self.max_item_bytes:
            return record
        for path in _CUT_ORDER:
            excess = size - self.max_item_bytes
            if path == ("citations",):
                record = _cap_citations(record, excess)
            else:
                text = _get(record, path)
                if not text:
                    continue
                record = _replace(record, path, _cut(text, excess + _MARKER_ROOM))
            size = item_size(self._item(record, 0))
            if size <= self.max_item_bytes:
                break
        else:
            raise FeedbackError(
                f"interaction {record.id!r} does not fit in a DynamoDB item even with its texts cut "
                f"({size:,} bytes); it cites too many sources"
            )
        log.warning(
            "interaction %s was %s bytes, over the %s-byte item budget; long texts were cut",
            record.id,
            f"{original:,}",
            f"{self.max_item_bytes:,}",
        )
        return record.model_copy(update={"context_truncated": True})

    def _write(self, record: Interaction, expected_version: int | None) -> None:
        """Write the item when the stored version is still ``expected_version`` (None: no item yet).

        Raises botocore's ConditionalCheckFailedException ClientError when it is not; its
        response carries the item found (``Item``) when there is one.
        """
        if expected_version is None:
            condition, values = "attribute_not_exists(#id)", None
        else:
            condition, values = "#v = :v", {":v": {"N": str(expected_version)}}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": self._item(record, (expected_version or 0) + 1),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#id": "id"} if values is None else {"#v": "version"},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._call("put_item", passthrough=("ConditionalCheckFailedException",), **kwargs)

    def _read(self, interaction_id: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key={"id": {"S": interaction_id}},
            ConsistentRead=True,
            ProjectionExpression="#r, #v",
            ExpressionAttributeNames={"#r": "record", "#v": "version"},
        )
        return response.get("Item")

    def _conflict_pause(self, attempt: int) -> None:
        time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 6)))

    def _gave_up(self, interaction_id: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"DynamoDB table {self.table_name!r}: interaction {interaction_id!r} kept changing under "
            f"{self.max_conflicts} attempts to write it; try again"
        )

    @staticmethod
    def _found(error: Any) -> dict[str, Any] | None:
        """The item a failed conditional write found, when DynamoDB returned it."""
        return error.response.get("Item") or None

    # -- writes ------------------------------------------------------------------------------

    def put(self, interaction: Interaction) -> None:
        """Insert the interaction, or replace the record with this id (idempotent).

        Feedback, judge score and review already stored are kept when the incoming record has
        none (``keep_attachments``). A new id costs one conditional write; an existing one a
        second, conditional on the version the first one found.

        Raises:
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        expected: int | None = None
        stored: Interaction | None = None
        for attempt in range(self.max_conflicts):
            record = interaction if stored is None else keep_attachments(stored, interaction)
            try:
                self._write(self._fit(record), expected)
                return
            except botocore.exceptions.ClientError as e:
                # The first conflict is the usual case of an id written before: go on at once
                # from the item it returned. Later ones are races: wait, then read afresh.
                found = self._found(e) if attempt == 0 else None
            if found is None:
                if attempt:
                    self._conflict_pause(attempt)
                found = self._read(interaction.id)
            if found is None:
                expected, stored = None, None
            else:
                expected = int(found["version"]["N"])
                try:
                    stored = load_stored(found["record"]["S"], interaction.id)
                except UnreadableRecord as e:  # the incoming record repairs it
                    log.warning("%s; replacing it with the record written now", e)
                    stored = None
        raise self._gave_up(interaction.id)

    def _update(self, interaction_id: str, changes: dict[str, Any]) -> Interaction:
        """Read the record, apply ``changes`` and write it back if nobody wrote it in between."""
        found = self._read(interaction_id)
        for attempt in range(self.max_conflicts):
            if found is None:
                raise NotFound(f"no interaction has id {interaction_id!r}")
            stored = load_stored(found["record"]["S"], interaction_id)
            updated = self._fit(stored.model_copy(update={**changes, "updated_at": now()}))
            try:
                self._write(updated, int(found["version"]["N"]))
                return updated
            except botocore.exceptions.ClientError as e:
                # Someone else wrote it first: start again from what they wrote, at once the
                # first time (the failed write returned it), after a random pause and a fresh
                # read when the race goes on.
                found = self._found(e) if attempt == 0 else None
            if found is None:
                self._conflict_pause(attempt)
                found = self._read(interaction_id)
        raise self._gave_up(interaction_id)

    def set_feedback(self, interaction_id: str, feedback: Feedback) -> Interaction:
        """Attach the user's feedback, replacing any earlier rating; returns the updated record.

        Raises:
            NotFound: no interaction has that id.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        return self._update(interaction_id, {"feedback": feedback})

    def set_judge(self, interaction_id: str, judge: JudgeScore) -> Interaction:
        """Attach or replace the AI judge's score; returns the updated record.

        Raises:
            NotFound: no interaction has that id.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        return self._update(interaction_id, {"judge": judge})

    def set_review(self, interaction_id: str, review: Review) -> Interaction:
        """Attach or replace the SME review; returns the updated record.

        Raises:
            NotFound: no interaction has that id.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        return self._update(interaction_id, {"review": review})

    # -- reads -------------------------------------------------------------------------------

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction (a strongly consistent read), or None when no record has that id.

        Raises:
            UnreadableRecord: the stored record no longer validates.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        found = self._read(interaction_id)
        return load_stored(found["record"]["S"], interaction_id) if found else None

    def list(
        self, filters: InteractionFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> InteractionPage:
        """Matching interactions ordered by (created_at, id), newest first, at most ``limit``.

        ``since`` is inclusive and ``until`` exclusive; naive datetimes are read as UTC.
        ``source_prefix`` matches a cited document exactly, or every document under a folder
        ("Design" and "Design/" match "Design/a.pdf", not "Design Extra/b.pdf"), case-sensitively.

        Returns:
            The page, and ``next_cursor`` to pass back for the next one (None on the last page).

        Raises:
            ValueError: ``limit`` is below 1, or ``cursor`` was not returned by this store.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        if limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        after = decode_cursor(cursor) if cursor is not None else None
        f = filters or InteractionFilter()
        index, partition, values = self._plan(f)
        condition = _Expression()
        filter_expression = _filter_expression(f, skip=partition, expr=condition)
        lower = time_key(f.since) if f.since is not None else None
        upper = time_key(f.until) if f.until is not None else None
        if after is not None and (upper is None or after < upper):
            upper = after
        # Without a filter every evaluated item counts; with one, read ahead more per request.
        page_size = limit + 1 if not filter_expression else min(1000, max(self.read_ahead, limit + 1))
        streams = [
            self._query(index, partition, value, lower, upper, after, filter_expression, condition, page_size)
            for value in values
        ]
        merged = heapq.merge(*streams, key=lambda item: item[SORT_KEY]["S"], reverse=True)
        keys = [(item["id"]["S"], item[SORT_KEY]["S"]) for item in itertools.islice(merged, limit + 1)]
        page = keys[:limit]
        unreadable: list[str] = []
        records = self._batch_get([interaction_id for interaction_id, _ in page], unreadable)
        items = [records[i] for i, _ in page if i in records]
        next_cursor = encode_cursor(page[-1][1]) if len(keys) > limit else None
        return InteractionPage(items=items, next_cursor=next_cursor, unreadable=unreadable)

    def _plan(self, f: InteractionFilter) -> tuple[str, str, list[str]]:
        """The index to query for a filter, its partition key attribute and the key values to merge."""
        if f.session_id:
            return "by_session", "session_id", [f.session_id]
        if f.user:
            return "by_user", "user", [f.user]
        shards = range(self.write_shards)
        if f.review_status in ("validated", "rejected"):
            return "by_review", "review_pk", [f"{f.review_status}#{k}" for k in shards]
        ratings: list[str] | None = None
        if f.rated is False:
            ratings = ["unrated"]
        elif f.rated or f.min_rating is not None or f.max_rating is not None:
            low = 1 if f.min_rating is None else max(1, f.min_rating)
            high = 5 if f.max_rating is None else min(5, f.max_rating)
            ratings = [str(r) for r in range(low, high + 1)]  # empty when the range is
        if ratings is not None:
            return "by_rating", "rating_pk", [f"{r}#{k}" for r in ratings for k in shards]
        if f.review_status == "unreviewed":
            return "by_review", "review_pk", [f"unreviewed#{k}" for k in shards]
        return "by_time", "time_pk", [f"ALL#{k}" for k in shards]

    def _query(
        self,
        index: str,
        partition: str,
        value: str,
        lower: str | None,
        upper: str | None,
        exclude: str | None,
        filter_expression: str,
        expr: _Expression,
        page_size: int,
        projection: tuple[str, ...] = ("id", SORT_KEY),
    ) -> Iterator[dict[str, Any]]:
        """The index entries of one partition between ``lower`` and ``upper`` (both inclusive), newest first.

        ``upper`` is either the cursor's key, which ``exclude`` then drops, or an ``until`` time
        without an id, which no key equals. Follows ``LastEvaluatedKey`` lazily, so a filter
        that matches little costs more requests, never a short page.
        """
        names = {"#pk": partition, **expr.names}
        values = {":pk": {"S": value}, **expr.values}
        key_condition = "#pk = :pk"
        if lower is not None and upper is not None:
            if lower > upper:
                return
            key_condition += " AND #ck BETWEEN :lower AND :upper"
            values.update({":lower": {"S": lower}, ":upper": {"S": upper}})
        elif lower is not None:
            key_condition += " AND #ck >= :lower"
            values[":lower"] = {"S": lower}
        elif upper is not None:
            key_condition += " AND #ck <= :upper"
            values[":upper"] = {"S": upper}
        if lower is not None or upper is not None:
            names["#ck"] = SORT_KEY
        wanted = []
        for n, attribute in enumerate(projection):
            names[f"#p{n}"] = attribute
            wanted.append(f"#p{n}")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": ", ".join(wanted),
            "ScanIndexForward": False,
            "Limit": page_size,
        }
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        while True:
            response = self._call("query", **kwargs)
            for item in response.get("Items", []):
                if item[SORT_KEY]["S"] != exclude:
                    yield item
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def _batch_get(self, ids: list[str], unreadable: list[str] | None = None) -> dict[str, Interaction]:
        """The records with these ids (strongly consistent), in no particular order.

        A record that no longer validates is left out, logged, and its id added to ``unreadable``.
        """
        out: dict[str, Interaction] = {}
        for start in range(0, len(ids), 100):  # BatchGetItem takes at most 100 keys
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [{"id": {"S": i}} for i in dict.fromkeys(ids[start : start + 100])],
                    "ProjectionExpression": "#id, #r",
                    "ExpressionAttributeNames": {"#id": "id", "#r": "record"},
                    "ConsistentRead": True,
                }
            }
            for attempt in range(10):
                response = self._call("batch_get_item", RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    try:
                        out[item["id"]["S"]] = load_stored(item["record"]["S"], item["id"]["S"])
                    except UnreadableRecord as e:
                        log.warning("%s; left out", e)
                        if unreadable is not None:
                            unreadable.append(item["id"]["S"])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                # Keys come back unprocessed under throttling or past 16 MB; back off and ask again.
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
            else:
                raise StoreUnavailable(f"DynamoDB table {self.table_name!r}: reads stayed throttled; try again")
        return out

    def sessions(self, user: str, *, limit: int = 20) -> list[SessionSummary]:
        """The user's conversations, the most recently started first.

        ``started_at`` is the earliest ``created_at`` of the session, ``first_question`` the
        question of its lowest turn, ``turns`` how many interactions it holds. Reads the user's
        entries of ``by_user`` (small projected items), then the first records of the sessions.

        Raises:
            ValueError: ``limit`` is below 1.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        if limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        projection = ("id", SORT_KEY, "session_id", "turn", "created_us")
        expr = _Expression()
        if user:
            streams = [self._query("by_user", "user", user, None, None, None, "", expr, 1000, projection)]
        else:  # items of an empty user name are not in by_user (an index key cannot be empty)
            condition = "attribute_not_exists(" + expr.name("user") + ")"
            streams = [
                self._query("by_time", "time_pk", f"ALL#{k}", None, None, None, condition, expr, 1000, projection)
                for k in range(self.write_shards)
            ]
        sessions: dict[str, dict[str, Any]] = {}
        for item in itertools.chain.from_iterable(streams):
            session_id = item.get("session_id", {}).get("S", "")
            created_us, turn = int(item["created_us"]["N"]), int(item["turn"]["N"])
            first = (turn, created_us, item["id"]["S"])
            s = sessions.setdefault(session_id, {"started_us": created_us, "turns": 0, "first": first})
            s["started_us"] = min(s["started_us"], created_us)
            s["turns"] += 1
            s["first"] = min(s["first"], first)
        chosen = sorted(sessions.items(), key=lambda kv: (kv[1]["started_us"], kv[0]), reverse=True)[:limit]
        records = self._batch_get([s["first"][2] for _, s in chosen])
        return [
            SessionSummary(
                session_id=session_id,
                started_at=_from_micros(s["started_us"]),
                first_question=records[s["first"][2]].question if s["first"][2] in records else "",
                turns=s["turns"],
            )
            for session_id, s in chosen
        ]


def _from_micros(micros: int) -> datetime:
    """Microseconds since the epoch as a UTC time, clamped to what a datetime holds (an item stored
    before times were bounded may lie outside it)."""
    try:
        return _EPOCH + micros * _MICROSECOND
    except OverflowError:
        return (datetime.min if micros < 0 else datetime.max).replace(tzinfo=UTC)


class _Expression:
    """Placeholders for the attribute names and values of one request's expressions.

    DynamoDB rejects a request that declares a placeholder no expression uses, so they are
    added only as the expressions are written.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#f_{attribute}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: dict[str, Any]) -> str:
        placeholder = f":f{len(self.values)}"
        self.values[placeholder] = value
        return placeholder


def _filter_expression(f: InteractionFilter, *, skip: str, expr: _Expression) -> str:
    """The FilterExpression for everything in ``f`` that the key condition does not already decide.

    ``skip`` is the partition key attribute of the index queried (a key attribute may not appear
    in a FilterExpression); since/until are part of the key condition.
    """
    parts: list[str] = []
    for attribute, value in (("user", f.user), ("session_id", f.session_id)):
        if value is None or attribute == skip:
            continue
        if value == "":  # stored without the attribute (see _item)
            parts.append(f"attribute_not_exists({expr.name(attribute)})")
        else:
            parts.append(f"{expr.name(attribute)} = {expr.value({'S': value})}")
    if f.review_status is not None:
        parts.append(f"{expr.name('review_status')} = {expr.value({'S': f.review_status})}")
    if f.min_rating is not None:
        parts.append(f"{expr.name('rating')} >= {expr.value({'N': str(f.min_rating)})}")
    if f.max_rating is not None:
        parts.append(f"{expr.name('rating')} <= {expr.value({'N': str(f.max_rating)})}")
    if f.rated is not None:
        parts.append(("attribute_exists" if f.rated else "attribute_not_exists") + f"({expr.name('rating')})")
    if f.has_correction is not None:
        parts.append(f"{expr.name('has_correction')} = {expr.value({'BOOL': f.has_correction})}")
    prefix = (f.source_prefix or "").rstrip("/")
    if prefix:
        # Exact membership in the set of cited documents and their folders: case-sensitive, no
        # wildcards, and "Design" never matches "Design Extra/…".
        parts.append(f"contains({expr.name('source_prefixes')}, {expr.value({'S': prefix})})")
    return " AND ".join(parts)


def init_table(store: DynamoDBFeedbackStore) -> str:
    """Create the feedback table for ``ragbot feedback init-table``; returns what was done."""
    return store.create_table(wait=True)
