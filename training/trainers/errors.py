"""The one error the trainers raise: a refusal or failure the user can act on, in one line."""

from training.errors import TrainingError


class TrainerError(TrainingError):
    """Bad data, a missing model, an unusable output folder or an interrupted run; the message
    says what happened and what to do."""
