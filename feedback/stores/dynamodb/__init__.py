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
    ``has_correction``, ``review_status``, ``judged``, ``judge_score`` (absent without a usable
    score), ``sources`` (the cited documents, for counts per document) and
    ``source_prefixes``: every cited document and every folder above it, a string set, so
    "this folder and everything below it" is an exact, case-sensitive ``contains`` instead of
    a prefix match on text. ``layout`` says which version of this layout wrote the item.
index keys
    ``time_pk``, ``rating_pk``, ``review_pk`` and ``judge_pk``: low-cardinality values ("ALL",
    "3", "unrated", "validated", "JUDGED") with a write-shard suffix ``#k`` (see
    ``write_shards``); ``judge_key`` (``<score>#<created_key>``, see ``schema.judge_sort``).

Global secondary indexes, each but ``by_judge`` sorted by ``created_key`` (newest first when read
backwards), projecting only the filter attributes, so a 300 KB record is not copied six times
per write:

====================  ===================  ==========================================
index                 partition key        serves
====================  ===================  ==========================================
``by_time``           ``time_pk``          everything else (filters applied server-side)
``by_user``           ``user``             an engineer's own history; ``sessions()``
``by_session``        ``session_id``       one conversation
``by_rating``         ``rating_pk``        one rating or a range (merged), unrated
``by_review``         ``review_pk``        the SME queue: unreviewed / validated / rejected
``by_judge``          ``judge_pk``         the sort by AI score and its score ranges; sorted
                                           on ``judge_key`` (``<score>#<created_key>``) and
                                           holding only records with a usable score
====================  ===================  ==========================================

The review queue's orders, judge-score filters and group counts are in ``orders``; bringing a
table made by an older ragbot up to date (``ragbot feedback init-table``) is in ``upgrade``.

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

The package, in the shape of every backend: ``schema`` (the table definition, keys, the item of
a record, what an older table lacks), ``queries`` (index choice, expressions, the cursor, batch
reads, sessions) and ``store`` (``DynamoDBFeedbackStore``); beside them ``sizing`` (cutting a
record to fit an item), ``orders`` (the review queue), ``audit`` (the audit log), ``client`` (the
boto3 client and error mapping), ``table`` (creating the table) and ``upgrade`` (bringing an
older one up to date). Only ``store`` imports the others' functions; none imports ``store``.
"""

from feedback.stores.dynamodb.queries import Expression, cursor_after, filter_expression, key_after, plan
from feedback.stores.dynamodb.schema import FILTER_ATTRIBUTES, INDEXES, SORT_KEY, source_prefixes, table_definition
from feedback.stores.dynamodb.sizing import MAX_ITEM_BYTES, item_size
from feedback.stores.dynamodb.store import DynamoDBFeedbackStore, init_table

__all__ = [
    "FILTER_ATTRIBUTES",
    "INDEXES",
    "MAX_ITEM_BYTES",
    "SORT_KEY",
    "DynamoDBFeedbackStore",
    "Expression",
    "cursor_after",
    "filter_expression",
    "init_table",
    "item_size",
    "key_after",
    "plan",
    "source_prefixes",
    "table_definition",
]
