"""Vector stores: the protocol, the embedded LanceDB store, OpenSearch."""
