"""Applications built on the training engine: what people do with trained runs and data.

* `skelab.apps.ensemble`: fusing runs (`skelab ensemble`, `train --streams all`), weights given or
  searched on the held-out training samples.
* `skelab.apps.early`: early-action evaluation (`eval --observe`).
* `skelab.apps.predict`: named top-5 per sample (`skelab predict`); `skelab.apps.timeline`: a
  model's window slid over a long keypoint file or video (`predict --stride`) and the live
  `Predictor`.
* `skelab.apps.export`: ONNX and TorchScript export, checked against PyTorch.
* `skelab.apps.demo` and `skelab.apps.doctor`: `skelab demo` and the environment report.
* `skelab.apps.zsl_features` and `skelab.apps.zsl_pipeline`: zero-shot stages that need the
  trainer (a backbone trained on the seen classes, its features, the staged pipeline).

These sit above `skelab.engine` (the training core: configs, build, step, trainer, evaluation,
run folders) and below `skelab.cli`; the engine never imports them. Submodules are imported on
use.
"""
