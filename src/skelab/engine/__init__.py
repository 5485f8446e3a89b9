"""Training engine: configs, the trainer, evaluation, checkpoints, distributed runs.

* `skelab.engine.config`: the config schema (frozen dataclasses), presets, inheritance
  (`extends:`) and `--set` overrides:
  `load_config("ntu60-xsub/stgcn-lite-joint", ["optim.lr=0.05"])`.
* `skelab.engine.trainer`: `Trainer(cfg, work_dir=...).fit(resume=...)`, `evaluate_weights`, and
  the run-folder layout (config.yaml, metrics.jsonl, checkpoints/, scores/, tensorboard/).
* `skelab.engine.schedule`: the learning-rate schedules (step per epoch, cosine per step).
* `skelab.engine.losses`: the loss hook (label-smoothed CE + a model's auxiliary losses).
* `skelab.engine.checkpoint`: atomic writes, weights-only reads, RNG state capture.
* `skelab.engine.metrics`: top-k accuracy, scores files, metrics.jsonl / TensorBoard.
* `skelab.engine.distributed`: torchrun / DDP helpers.
* `skelab.engine.summary`, `doctor`, `demo`: per-class summaries, the environment report and
  `skelab demo`.

Submodules are imported on use; importing `skelab.engine` itself loads nothing heavy.
"""
