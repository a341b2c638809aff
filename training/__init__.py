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
* ``training.launch`` — ``ragbot train launch --on sagemaker``: the CreateTrainingJob request.

Trainers (``ragbot train sft|reward|rl|dpo|kto``) live in ``training.trainers``.
"""
