"""The composition root: every backend is built from one ``Settings``, on first use.

``factories`` holds one factory map per backend kind (a new backend is a function and an entry in
its map); ``model_roles`` the judge's and the synth model's settings, resolved from the answer
model's; ``judge_model`` the answer-model backend adapted to the judge, ``judge_evidence`` rag's
embedder and grounding check adapted to the reference judge; ``ab`` which model answers a
conversation during a blind A/B test; ``backends`` the ``Backends`` of one process, which builds
each from those. Nothing else in the product reads settings to decide which class to build.
"""
