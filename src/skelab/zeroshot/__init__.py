"""skelab.zeroshot: zero-shot and generalised zero-shot recognition of unseen action classes.

Splits and class texts (`splits`, `texts`), text features (`text_encoders`), skeleton features
from a skelab backbone (`features`), the cross-modal VAE methods MSF-GZSSAR and FS-VAE
(`methods`), and the staged pipeline behind `skelab zeroshot run` (`pipeline`).
"""
