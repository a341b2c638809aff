"""Benchmarks: scripts that print figures, and the helpers they share.

Run a script from the repository root as a module, ``python -m bench.<name>`` (bench/README.md
lists them). Scripts import the product (``app``, ``rag``, ``feedback``, ``training``,
``common``) and this package, never ``tests``: what both the tests and the benchmarks need lives
here (tests may import ``bench``, not the other way round) or in the product.
"""
