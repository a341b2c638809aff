"""The AI judge: a versioned prompt (``prompt``), a reply parser that never raises (``parser``),
runs that score what is left and store each verdict at once (``runner``), background judging of
new answers (``worker``), and agreement with people (``agreement``)."""

from feedback.judge.agreement import Agreement, AgreementReport, agreement, score_to_likert
from feedback.judge.parser import ISSUES, ParsedReply, parse_reply
from feedback.judge.prompt import JUDGE_PROMPT_VERSION, ChatMessage, build_judge_messages
from feedback.judge.runner import Judge, JudgeModel, JudgeRunSummary, RetryPolicy
from feedback.judge.worker import JudgeWorker

__all__ = [
    "ISSUES",
    "JUDGE_PROMPT_VERSION",
    "Agreement",
    "AgreementReport",
    "ChatMessage",
    "Judge",
    "JudgeModel",
    "JudgeRunSummary",
    "JudgeWorker",
    "ParsedReply",
    "RetryPolicy",
    "agreement",
    "build_judge_messages",
    "parse_reply",
    "score_to_likert",
]
