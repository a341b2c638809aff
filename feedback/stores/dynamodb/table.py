"""Creating the feedback table: ``ragbot feedback init-table``."""

from __future__ import annotations

from feedback.errors import StoreUnavailable
from feedback.stores.dynamodb.client import TableClient, botocore
from feedback.stores.dynamodb.schema import INDEXES, table_definition


def create_table(table: TableClient, *, wait: bool = True) -> str:
    """Create the table (on-demand billing, the five indexes, encryption with the AWS managed key).

    With ``wait``, waits until it is active and turns point-in-time recovery on. A table
    that exists already is left alone and checked for the indexes.

    Returns:
        One line that says what was done, for the command line.

    Raises:
        StoreUnavailable: DynamoDB cannot be reached or the credentials are refused.
    """
    try:
        table.call("create_table", passthrough=("ResourceInUseException",), **table_definition(table.table_name))
    except botocore.exceptions.ClientError:
        described = table.call("describe_table", TableName=table.table_name)["Table"]
        present = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
        missing = [name for name in INDEXES if name not in present]
        status = described.get("TableStatus", "?")
        if missing:
            return (
                f"table {table.table_name!r} already exists ({status}) but lacks the indexes "
                f"{', '.join(missing)}; add them or use another table name"
            )
        return f"table {table.table_name!r} already exists ({status}) with every index"
    if not wait:
        return f"creating table {table.table_name!r} (on demand, indexes {', '.join(INDEXES)})"
    try:
        table.client.get_waiter("table_exists").wait(
            TableName=table.table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
        )
    except botocore.exceptions.WaiterError as e:
        raise StoreUnavailable(f"table {table.table_name!r} did not become active: {e}") from e
    table.call(
        "update_continuous_backups",
        TableName=table.table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return (
        f"created table {table.table_name!r}: on demand, encrypted, point-in-time recovery on, "
        f"indexes {', '.join(INDEXES)}"
    )
