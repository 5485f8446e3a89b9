"""skelab.zeroshot: zero-shot and generalised zero-shot recognition of unseen action classes.

Splits and class texts (`splits`, `texts`), text features (`text_encoders`), the upstream
skeleton-feature folders (`features`), the cross-modal VAE methods MSF-GZSSAR and FS-VAE
(`methods`) and the GZSL gate (`gate`). Nothing here imports the engine: training a backbone
for its features and the staged pipeline behind `skelab zeroshot run` are in the engine
(`apps/zsl_features.py`, `apps/zsl_pipeline.py`).
"""
