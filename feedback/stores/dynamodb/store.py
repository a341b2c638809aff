"""``DynamoDBFeedbackStore``: the feedback store protocol over one DynamoDB table, put together
from the schema, sizing and query planning of this package."""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from common.aws import ClientOptions
from feedback.errors import NotFound, StoreUnavailable, UnreadableRecord
from feedback.records import Feedback, Interaction, JudgeScore, Review, load_stored, now
from feedback.stores.base import (
    ORDERS,
    AttachmentField,
    AttachmentSetters,
    GroupBy,
    InteractionFilter,
    InteractionPage,
    Order,
    SessionSummary,
    keep_attachments,
)
from feedback.audit import AuditEvent, AuditPage
from feedback.stores.dynamodb.audit import list_events, put_event
from feedback.stores.dynamodb.client import RetryMode, TableClient, botocore
from feedback.stores.cursor import encode_sorted_cursor
from feedback.stores.dynamodb.orders import count_entries, ordered, relies_on
from feedback.stores.dynamodb.query import Expression, batch_get, cursor_after, query_index
from feedback.stores.dynamodb.schema import SORT_KEY, from_micros, item, partitions, split_created_key
from feedback.stores.dynamodb.sizing import MAX_ITEM_BYTES, fit
from feedback.stores.dynamodb.table import create_table
from feedback.stores.dynamodb.upgrade import NEWER_ATTRIBUTES, projection_gaps, upgrade_items

log = logging.getLogger(__name__)


class DynamoDBFeedbackStore(AttachmentSetters):
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
        if not 10_000 <= max_item_bytes <= 400_000:
            raise ValueError(f"max_item_bytes={max_item_bytes!r} must be between 10,000 and 400,000")
        if max_conflicts < 1:
            raise ValueError(f"max_conflicts={max_conflicts!r} must be 1 or more")
        self.table_name = table_name
        self.write_shards = write_shards
        self.max_item_bytes = max_item_bytes
        self.max_conflicts = max_conflicts
        self.options = ClientOptions(
            region=region,
            endpoint_url=endpoint_url,
            retry_mode=retry_mode,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Streamlit's script threads share one store, and so one client.
            max_pool_connections=32,
            user_agent_extra="ragbot-feedback",
        )
        self._table = TableClient(table_name, self.options, client=client)
        self._gaps: dict[str, list[str]] | None = None  # see _check_projection

    def __repr__(self) -> str:
        where = f", region={self.options.region!r}" if self.options.region else ""
        where += f", endpoint_url={self.options.endpoint_url!r}" if self.options.endpoint_url else ""
        return f"DynamoDBFeedbackStore({self.table_name!r}{where})"

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use."""
        return self._table.client

    def close(self) -> None:
        """Close the client's connections; the next call opens new ones."""
        self._table.close()

    def _call(self, operation: str, *, passthrough: tuple[str, ...] = (), **kwargs: Any) -> dict[str, Any]:
        return self._table.call(operation, passthrough=passthrough, **kwargs)

    # -- table -------------------------------------------------------------------------------

    def create_table(self, *, wait: bool = True, backup_timeout: float = 300.0) -> str:
        """Create the table (on-demand billing, the five indexes, encryption with the AWS managed key).

        With ``wait``, waits until it is active and turns point-in-time recovery on (retried while
        DynamoDB is still setting backups up, for up to ``backup_timeout`` seconds). A table that
        exists already is checked for the indexes, and point-in-time recovery is turned on when
        it is off. On a local server without the backup calls, the table is made without it.

        Returns:
            One line that says what was done, for the command line.

        Raises:
            StoreUnavailable: DynamoDB cannot be reached, the credentials are refused, or
                point-in-time recovery stayed unavailable (run it again in a few minutes).
        """
        return create_table(self._table, wait=wait, backup_timeout=backup_timeout)

    # -- items -------------------------------------------------------------------------------

    def _fit(self, record: Interaction) -> Interaction:
        return fit(record, self.max_item_bytes, self.write_shards)

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
            "Item": item(record, (expected_version or 0) + 1, self.write_shards),
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

    def _check_projection(self, index: str, attributes: set[str]) -> None:
        """Refuse a read through an index that does not carry an attribute it filters or groups
        on (an index made by an older ragbot), which would silently miss records.

        Only the attributes added since the first layout are checked, so ordinary listings never
        ask; the table is described once per store. Without ``dynamodb:DescribeTable`` the read goes on.
        """
        if not attributes & NEWER_ATTRIBUTES:
            return
        if self._gaps is None:
            try:
                described = self._call(
                    "describe_table", passthrough=("AccessDeniedException",), TableName=self.table_name
                )
                self._gaps = projection_gaps(described["Table"])
            except botocore.exceptions.ClientError:
                log.debug("no dynamodb:DescribeTable: index projections not checked")
                self._gaps = {}
        missing = sorted(attributes & set(self._gaps.get(index, ())))
        if missing:
            raise StoreUnavailable(
                f"DynamoDB table {self.table_name!r}: index {index} was made by an older ragbot and does not "
                f"carry {', '.join(missing)}, so this filter or count would miss records; delete the index and "
                "run `ragbot feedback init-table` to rebuild it"
            )

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

    def _attach(
        self,
        interaction_id: str,
        field: AttachmentField,
        value: Feedback | JudgeScore | Review,
        check: Callable[[Interaction], None] | None = None,
    ) -> Interaction:
        """Read the record, set ``field`` and write it back if nobody wrote it in between.

        ``check`` (a review's ``expected_reviewed_at``) runs on every record read, and the write
        is conditional on that record's ``version``: a review saved by someone else between the
        read and the write fails the condition, the record is read again, and ``check`` refuses
        it with Conflict. The version is a stronger condition than ``reviewed_at`` alone (it
        also catches a rating or judge score written meanwhile, which are re-applied, not lost).
        """
        found = self._read(interaction_id)
        for attempt in range(self.max_conflicts):
            if found is None:
                raise NotFound(f"no interaction has id {interaction_id!r}")
            stored = load_stored(found["record"]["S"], interaction_id)
            if check is not None:
                check(stored)
            updated = self._fit(stored.model_copy(update={field: value, "updated_at": now()}))
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

    # -- reads -------------------------------------------------------------------------------

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction (a strongly consistent read), or None when no record has that id.

        Raises:
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        found = self._read(interaction_id)
        return load_stored(found["record"]["S"], interaction_id) if found else None

    def list(
        self,
        filters: InteractionFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        order: Order = "newest",
    ) -> InteractionPage:
        """Matching interactions in ``order``, at most ``limit``: by (created_at, id), newest or
        oldest first, or by judge score or rating (then newest first), listing only the records
        that have one. Each order reads an index sorted for it (see ``orders``), never the table.

        ``since`` is inclusive and ``until`` exclusive; naive datetimes are read as UTC.
        ``source_prefix`` matches a cited document exactly, or every document under a folder
        ("Design" and "Design/" match "Design/a.pdf", not "Design Extra/b.pdf"), case-sensitively.

        Returns:
            The page, and ``next_cursor`` to pass back for the next one (None on the last page).

        Raises:
            ValueError: ``limit`` is below 1, ``order`` unknown, or ``cursor`` not one this store
                returned for this order.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        if limit < 1:
            raise ValueError(f"limit={limit!r} must be 1 or more")
        if order not in ORDERS:
            raise ValueError(f"order={order!r} is not one of {', '.join(ORDERS)}")
        self._check_projection(*relies_on(filters or InteractionFilter(), order, None, self.write_shards))
        entries = ordered(
            self._call,
            self.table_name,
            filters or InteractionFilter(),
            order,
            cursor,
            shards=self.write_shards,
            page=(limit, self.read_ahead),
        )
        keys = list(itertools.islice(entries, limit + 1))
        page = keys[:limit]
        unreadable: list[str] = []
        records = batch_get(self._call, self.table_name, [i for _, _, i in page], unreadable)
        items = [records[i] for _, _, i in page if i in records]
        next_cursor = None
        if len(keys) > limit:
            key, created, last_id = page[-1]
            next_cursor = (
                cursor_after(created) if key is None else encode_sorted_cursor(key, *split_created_key(created))
            )
        return InteractionPage(items=items, next_cursor=next_cursor, unreadable=unreadable)

    def count_groups(self, filters: InteractionFilter | None = None, *, by: GroupBy) -> dict[str, int]:
        """How many matching interactions fall in each group (see ``FeedbackStore.count_groups``).

        Reads the matching entries of one index, projected to the grouped attribute (see
        ``orders``), never the records.

        Raises:
            ValueError: ``by`` is not a grouping.
            StoreUnavailable: DynamoDB cannot be reached, throttles, or the table is missing.
        """
        self._check_projection(*relies_on(filters or InteractionFilter(), None, by, self.write_shards))
        return count_entries(self._call, self.table_name, filters or InteractionFilter(), by, shards=self.write_shards)

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
        expr = Expression()
        if user:
            streams = [
                query_index(self._call, self.table_name, "by_user", "user", user, page_size=1000, projection=projection)
            ]
        else:  # items of an empty user name are not in by_user (an index key cannot be empty)
            condition = "attribute_not_exists(" + expr.name("user") + ")"
            streams = [
                query_index(
                    self._call,
                    self.table_name,
                    "by_time",
                    "time_pk",
                    value,
                    condition=condition,
                    expr=expr,
                    page_size=1000,
                    projection=projection,
                )
                for value in partitions("ALL", self.write_shards)
            ]
        sessions: dict[str, dict[str, Any]] = {}
        for entry in itertools.chain.from_iterable(streams):
            session_id = entry.get("session_id", {}).get("S", "")
            created_us, turn = int(entry["created_us"]["N"]), int(entry["turn"]["N"])
            first = (turn, created_us, entry["id"]["S"])
            s = sessions.setdefault(session_id, {"started_us": created_us, "turns": 0, "first": first})
            s["started_us"] = min(s["started_us"], created_us)
            s["turns"] += 1
            s["first"] = min(s["first"], first)
        chosen = sorted(sessions.items(), key=lambda kv: (kv[1]["started_us"], kv[0]), reverse=True)[:limit]
        records = batch_get(self._call, self.table_name, [s["first"][2] for _, s in chosen])
        return [
            SessionSummary(
                session_id=session_id,
                started_at=from_micros(s["started_us"]),
                first_question=records[s["first"][2]].question if s["first"][2] in records else "",
                turns=s["turns"],
            )
            for session_id, s in chosen
        ]

    def record_event(self, event: AuditEvent) -> None:
        """Append an audit event (see ``feedback.stores.dynamodb.audit``). Raises StoreUnavailable."""
        put_event(self._call, self.table_name, event)

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """Audit events, newest first. Raises ValueError for a bad cursor or limit, StoreUnavailable."""
        return list_events(self._call, self.table_name, limit=limit, cursor=cursor)


def init_table(store: DynamoDBFeedbackStore) -> str:
    """Create the feedback table for ``ragbot feedback init-table``, or bring one made by an older
    ragbot up to date (see ``feedback.stores.dynamodb.upgrade``); returns what was done."""
    done = store.create_table(wait=True)
    if "lacks the indexes" in done:  # somebody else's table: changed in nothing
        return done
    return f"{done}; {upgrade_items(store)}"
