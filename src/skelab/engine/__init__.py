"""Training engine: configs, the trainer, evaluation, ensembles, checkpoints, distributed runs."""
