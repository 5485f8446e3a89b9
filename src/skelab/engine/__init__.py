"""Training engine: configs, building a run, the trainer, evaluation, checkpoints, DDP.

* `skelab.engine.config`: the config schema (frozen dataclasses); `skelab.engine.presets`: the
  presets, inheritance (`extends:`) and `--set` overrides.
* `skelab.engine.build`: device, model, optimizer, transforms and loaders from a config, with
  the label and model/data checks; `load_weights` (strict).
* `skelab.engine.step`: one training step (chunks, loss, mixed precision, clipping), shared by
  `skelab train` and `skelab bench`.
* `skelab.engine.evaluate`: `evaluate(model, loader)` and `evaluate_weights` (`skelab eval`).
* `skelab.engine.trainer`: `Trainer(cfg, work_dir=...).fit(resume=...)`;
  `skelab.engine.resume`: what a resumed run may change.
* `skelab.engine.rundir`: a run: the folder layout (`RunDir`: config.yaml, metrics.jsonl,
  checkpoints/, scores/, tensorboard/, viz/), the versioned checkpoint format (`Checkpoint`) and
  `resolve_trained`, which every command taking a trained model uses.
* `skelab.engine.schedule`: the learning-rate schedules and their cadence; `losses`: the loss;
  `oom`: out-of-memory advice.
* `skelab.engine.checkpoint`: checkpoint file reads and RNG state capture.
* `skelab.engine.metrics`: top-k accuracy, scores files, metrics.jsonl / TensorBoard.
* `skelab.engine.distributed`: torchrun / DDP helpers.
* `skelab.engine.holdout`: the held-out training samples; `finetune`: starting a run from
  weights; `summary`: summaries in words; `fromdata`: layout, people and classes from a
  prepared folder's meta.json.

What is built on this core (ensembles, early action, prediction and timelines, export, demo,
doctor, the zero-shot stages that train a backbone) lives in `skelab.apps`, which the engine
never imports.

Submodules are imported on use; importing `skelab.engine` itself loads nothing heavy.
"""
