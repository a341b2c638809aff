"""Code that both ``rag`` and ``feedback`` may import: it imports nothing of ragbot's.

``common.aws`` builds boto3 clients and reads AWS errors; ``common.files`` holds file-system
helpers. Put something here only when two packages that may not import each other need it.
"""
