"""Errors raised by the training package. Entry points turn them into one-line messages."""


class TrainingError(Exception):
    """Base class for every error the training package raises on purpose."""


class DatasetError(TrainingError):
    """The records cannot make a dataset (too few, wrong shape, no base model); the message says
    what is wrong and what to do."""


class EvaluationError(TrainingError):
    """An evaluation cannot run: its data file or a model is missing or of the wrong shape."""


class LaunchError(TrainingError):
    """A managed training job cannot be built or started; the message names the setting."""


class RegistryError(TrainingError):
    """A model is not in the registry, or the registry cannot do what was asked (nothing to roll
    back to, a promotion the gate refused); the message says what to do."""


class LoopError(TrainingError):
    """A loop run cannot start or go on (another run holds the lock, a step failed); the served
    model is untouched."""
