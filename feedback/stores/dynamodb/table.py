"""Creating the feedback table: ``ragbot feedback init-table``.

Point-in-time recovery is turned on after the table turns ACTIVE, and checked (and turned on)
on a table that exists already, so a rerun repairs a table whose first run could not.
``UpdateContinuousBackups`` right after creation can fail with
``ContinuousBackupsUnavailableException`` while DynamoDB sets backups up: it is retried with
backoff. DynamoDB-compatible local servers (DynamoDB Local, dynalite, LocalStack) do not have
the backup calls: there the table is created all the same, with a warning.
"""

from __future__ import annotations

import logging
import time

from feedback.errors import StoreUnavailable
from feedback.stores.dynamodb.client import TableClient, botocore
from feedback.stores.dynamodb.schema import INDEXES, projection_gaps, table_definition
from feedback.stores.dynamodb.upgrade import add_missing_indexes

log = logging.getLogger(__name__)

# What a server without the backup calls answers (DynamoDB Local and dynalite over HTTP,
# LocalStack; embedded DynamoDB Local throws Java's UnsupportedOperationException).
NO_SUCH_OPERATION = ("UnknownOperationException", "UnsupportedOperationException")
NOT_YET = "ContinuousBackupsUnavailableException"


def create_table(table: TableClient, *, wait: bool = True, backup_timeout: float = 300.0) -> str:
    """Create the table (on-demand billing, the five indexes, encryption with the AWS managed key).

    With ``wait``, waits until it is active and turns point-in-time recovery on, retrying for
    up to ``backup_timeout`` seconds while DynamoDB answers ``ContinuousBackupsUnavailableException``.
    A table that exists already is checked for the indexes and for point-in-time recovery,
    which is turned on when it is off.

    Returns:
        One line that says what was done, for the command line.

    Raises:
        StoreUnavailable: DynamoDB cannot be reached, the credentials are refused, the table did
            not become active, or point-in-time recovery stayed unavailable (run it again later).
    """
    try:
        table.call("create_table", passthrough=("ResourceInUseException",), **table_definition(table.table_name))
    except botocore.exceptions.ClientError:
        return _existing(table, wait=wait, backup_timeout=backup_timeout)
    if not wait:
        return f"creating table {table.table_name!r} (on demand, indexes {', '.join(INDEXES)})"
    _wait_active(table)
    backups = enable_point_in_time_recovery(table, timeout=backup_timeout)
    return f"created table {table.table_name!r}: on demand, encrypted, indexes {', '.join(INDEXES)}; {backups}"


def _existing(table: TableClient, *, wait: bool, backup_timeout: float) -> str:
    described = table.call("describe_table", TableName=table.table_name)["Table"]
    present = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
    missing = [name for name in INDEXES if name not in present]
    status = described.get("TableStatus", "?")
    if missing and (not wait or not present & set(INDEXES)):
        # Without any of ragbot's indexes it is somebody else's table: leave it alone.
        return (
            f"table {table.table_name!r} already exists ({status}) but lacks the indexes "
            f"{', '.join(missing)}; add them or use another table name"
        )
    if not wait:
        return f"table {table.table_name!r} already exists ({status}) with every index"
    if status != "ACTIVE":  # another init-table is creating it right now
        _wait_active(table)
        status = "ACTIVE"
    added = add_missing_indexes(table, described)
    indexes = f"and gained the indexes {', '.join(added)}" if added else "with every index"
    if added:
        described = table.call("describe_table", TableName=table.table_name)["Table"]
    gaps = projection_gaps(described)
    if gaps:
        indexes += "; " + "; ".join(
            f"index {name} does not carry {', '.join(attributes)} (made by an older ragbot: filters and "
            f"counts on them through it miss records; delete it and run init-table again to rebuild it)"
            for name, attributes in gaps.items()
        )
    backups = enable_point_in_time_recovery(table, timeout=backup_timeout)
    return f"table {table.table_name!r} already exists ({status}) {indexes}; {backups}"


def _wait_active(table: TableClient) -> None:
    try:
        table.client.get_waiter("table_exists").wait(
            TableName=table.table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
        )
    except botocore.exceptions.WaiterError as e:
        raise StoreUnavailable(f"table {table.table_name!r} did not become active: {e}") from e


def enable_point_in_time_recovery(table: TableClient, *, timeout: float = 300.0) -> str:
    """Turn point-in-time recovery on unless it is on; returns what was found or done.

    Raises:
        StoreUnavailable: DynamoDB kept answering ``ContinuousBackupsUnavailableException`` for
            ``timeout`` seconds (the table is there; run ``init-table`` again in a few minutes).
    """
    passthrough = (*NO_SUCH_OPERATION, NOT_YET)
    try:
        described = table.call("describe_continuous_backups", passthrough=passthrough, TableName=table.table_name)
        pitr = described["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            return "point-in-time recovery on"
    except botocore.exceptions.ClientError as e:
        if _code(e) in NO_SUCH_OPERATION:
            return _unsupported(table, e)
        # NOT_YET: backups are still being set up; UpdateContinuousBackups below waits for them.
    deadline = time.monotonic() + timeout
    delay = 1.0
    while True:
        try:
            table.call(
                "update_continuous_backups",
                passthrough=passthrough,
                TableName=table.table_name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            return "point-in-time recovery turned on"
        except botocore.exceptions.ClientError as e:
            if _code(e) in NO_SUCH_OPERATION:
                return _unsupported(table, e)
            if time.monotonic() + delay > deadline:
                raise StoreUnavailable(
                    f"table {table.table_name!r} exists, but DynamoDB kept refusing to turn point-in-time "
                    f"recovery on for {timeout:.0f} s ({NOT_YET}); run `ragbot feedback init-table` again "
                    "in a few minutes"
                ) from e
            log.info("point-in-time recovery of %s is not available yet; retrying in %.0f s", table.table_name, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _unsupported(table: TableClient, error: Exception) -> str:
    log.warning(
        "%s has no point-in-time recovery (%s): a local DynamoDB-compatible server? Turn it on where "
        "the table really lives.",
        table.table_name,
        _code(error),
    )
    return f"point-in-time recovery is not available on this server ({_code(error)}); the table works without it"
