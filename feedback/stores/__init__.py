"""The one home of feedback storage: the protocol (``base``), reading a listing page by page
(``paging``) and its cursors (``cursor``), the backends ``sqlite`` (embedded) and ``dynamodb``
(at scale), each a package of ``schema``, ``queries`` and ``store``, and ``outbox``, which wraps
any of them so that no write is lost while the store is unreachable. Their errors are in
``feedback.errors``."""
