"""``DynamoDBFeedbackStore``: the feedback store protocol over one DynamoDB table, put together
from the schema, sizing, queries, orders, table and upgrade modules of this package (none of
which imports it)."""

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
from feedback.stores.dynamodb.queries import batch_get, cursor_after, sessions_of
from feedback.stores.dynamodb.schema import LAYOUT, item, split_created_key
from feedback.stores.dynamodb.sizing import MAX_ITEM_BYTES, fit
from feedback.stores.dynamodb.table import create_table
from feedback.stores.dynamodb.upgrade import ProjectionCheck, upgrade_items

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
        # Refuses a read through an index made by an older ragbot that would miss records.
        self._check_projection = ProjectionCheck(self._table)

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
        """Create the table (on-demand, the indexes, encrypted) and turn point-in-time recovery on, or
        check a table that exists already; returns one line that says what was done (see
        ``table.create_table``). Raises StoreUnavailable: DynamoDB cannot be reached, the credentials
        are refused, or point-in-time recovery stayed unavailable (run it again in a few minutes)."""
        return create_table(self._table, wait=wait, backup_timeout=backup_timeout)

    def init_table(self) -> str:
        """Create the table for ``ragbot feedback init-table``, or bring one made by an older ragbot
        up to date: its indexes (``create_table``) and its items (``rewrite_item``, see ``upgrade``);
        returns what was done. Raises StoreUnavailable as ``create_table`` does."""
        done = self.create_table(wait=True)
        if "lacks the indexes" in done:  # somebody else's table: changed in nothing
            return done
        return f"{done}; {upgrade_items(self._table, self.rewrite_item)}"

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

    def _read(self, interaction_id: str, *also: str) -> dict[str, Any] | None:
        """The item's record and version (and the attributes ``also`` names), read consistently."""
        names = {"#r": "record", "#v": "version", **{f"#a{n}": name for n, name in enumerate(also)}}
        response = self._call(
            "get_item",
            TableName=self.table_name,
            Key={"id": {"S": interaction_id}},
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
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

    def rewrite_item(self, interaction_id: str) -> bool | None:
        """Write the item again from its record, in this layout, unless it is in it already (what
        ``init_table`` does to the items of an older table; see ``upgrade``). Conditional on the
        version read, like every write: one written meanwhile is read again, and nothing is lost.

        Returns:
            True when rewritten, False when the item is gone or in this layout already, None when
            its record no longer validates (left as it is, and logged).

        Raises:
            StoreUnavailable: DynamoDB cannot be reached, or the item kept changing.
        """
        for attempt in range(self.max_conflicts):
            found = self._read(interaction_id, "layout")
            if found is None or int(found.get("layout", {}).get("N", "0")) >= LAYOUT:
                return False
            try:
                record = load_stored(found["record"]["S"], interaction_id)
            except UnreadableRecord as e:
                log.warning("%s; left in its old layout", e)
                return None
            try:
                self._write(self._fit(record), int(found["version"]["N"]))
                return True
            except botocore.exceptions.ClientError:
                self._conflict_pause(attempt)  # written meanwhile: read it again
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
        """The user's conversations, the most recently started first (see ``queries.sessions_of``).
        Raises ValueError (``limit`` below 1), StoreUnavailable."""
        return sessions_of(self._call, self.table_name, user, limit=limit, shards=self.write_shards)

    def record_event(self, event: AuditEvent) -> None:
        """Append an audit event (see ``feedback.stores.dynamodb.audit``). Raises StoreUnavailable."""
        put_event(self._call, self.table_name, event)

    def events(self, *, limit: int = 50, cursor: str | None = None) -> AuditPage:
        """Audit events, newest first. Raises ValueError for a bad cursor or limit, StoreUnavailable."""
        return list_events(self._call, self.table_name, limit=limit, cursor=cursor)


def init_table(store: DynamoDBFeedbackStore) -> str:
    """``store.init_table()``: create the feedback table, or bring an older one up to date."""
    return store.init_table()
