"""Feedback stores: the protocol, SQLite (embedded), DynamoDB."""
