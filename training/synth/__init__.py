"""Synthetic question–answer pairs from the documents, for SMEs to validate: a versioned prompt
(``prompt``), a reply parser that never raises (``parser``), passage sampling (``sampling``), the
checks a pair must pass (``checks``), runs that resume (``runner``, ``ledger``) and the export of
validated pairs as a retrieval evaluation set (``export``). Imports ``rag`` and ``feedback``,
never ``app``."""

from training.synth.export import export_eval
from training.synth.ledger import SynthLedger
from training.synth.parser import ParsedReply, SynthPair, parse_reply
from training.synth.prompt import KINDS, SYNTH_PROMPT_VERSION, build_synth_messages
from training.synth.runner import REASONS, Synthesizer, SynthRunSummary

__all__ = [
    "KINDS",
    "REASONS",
    "SYNTH_PROMPT_VERSION",
    "ParsedReply",
    "SynthLedger",
    "SynthPair",
    "SynthRunSummary",
    "Synthesizer",
    "build_synth_messages",
    "export_eval",
    "parse_reply",
]
