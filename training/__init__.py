"""The companion training package: feedback records in, a better answer model out.

It reads ``feedback.records.Interaction`` objects (from the store, through the app, or from an
export file) and the answer prompt of ``rag.prompts``; it never imports ``app``.

Datasets (``ragbot train dataset``):

* ``training.labels`` — which answer a record teaches (reference > correction > good answer)
  and whether the model's answer was good or bad; which records may enter at all.
* ``training.split`` — train/val by conversation, questions kept on one side; the leakage check.
* ``training.tokens`` — token counts with the base model's tokenizer; passages cut to fit.
* ``training.dataset`` — builds and writes ``sft``, ``preference``, ``kto`` and ``prompts``
  (TRL's conversational formats) and the card.
* ``training.card`` — the card model and its markdown.
* ``training.errors`` — ``TrainingError`` and its kinds; the CLI turns them into one line.

Evaluation and launch:

* ``training.evaluate`` — ``ragbot eval``: MiniLM similarity to the references, numbers right, report.
* ``training.gate`` — better, no better or worse: paired bootstrap intervals over questions.
* ``training.launch`` — ``ragbot train launch --on sagemaker``: the CreateTrainingJob request (and the loop's job).

The loop (``ragbot loop run``, ``ragbot model …``):

* ``training.evalset`` — the frozen, hashed evaluation set, never trained on.
* ``training.loop`` and ``training.loop_state`` — the steps, their saved state, the lock.
* ``training.registry`` — candidates with their cards; the promoted pointer; ``training.serving``
  — the app's generator that follows it; ``training.sagemaker_registry`` — the same on AWS.

Trainers (``ragbot train sft|reward|rl|dpo|kto``) live in ``training.trainers``.
"""
