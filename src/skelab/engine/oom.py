"""Out-of-memory advice: what ran out of memory, and the presets and flags that need less."""

from __future__ import annotations

import logging

import torch

from skelab.engine.config import Config
from skelab.errors import SkelabError

log = logging.getLogger(__name__)


def memory_advice(cfg: Config) -> str:
    """Presets and flags that need less GPU memory than `cfg`, as one line of advice."""
    from skelab.engine.presets import list_presets

    tips = []
    lighter = [cfg.info.lower_memory] if cfg.info.lower_memory else []
    for variant in ("lowmem", "tiny"):
        candidate = cfg.preset.sibling(variant=variant)
        if (
            cfg.preset.name
            and variant != cfg.preset.variant
            and candidate in list_presets()
            and candidate not in lighter
        ):
            lighter.append(candidate)
    if lighter:
        tips.append("the preset " + " or ".join(repr(p) for p in lighter))
    chunk = cfg.train.chunk_size
    if chunk > 1:
        tips.append(
            f"--set train.forward_batch_size={max(chunk // 2, 1)} (same update, less memory)"
        )
    if cfg.train.batch_size > 8:
        tips.append(f"--set train.batch_size={cfg.train.batch_size // 2}")
    if cfg.data.window > 32:
        tips.append(f"--set data.window={max(32, cfg.data.window * 3 // 4 // 8 * 8)}")
    if cfg.train.amp == "none":
        tips.append("--precision bf16")
    if cfg.train.test_batch_size > 16:
        tips.append(f"--set train.test_batch_size={cfg.train.test_batch_size // 2}")
    return "try " + "; or ".join(tips) if tips else "use a GPU with more memory"


def out_of_memory_error(cfg: Config) -> SkelabError:
    """The error raised on CUDA out-of-memory: what ran, and what needs less memory."""
    return SkelabError(
        f"CUDA ran out of memory running {cfg.name or cfg.model.name} "
        f"(batch {cfg.train.batch_size}, forward batch {cfg.train.chunk_size}, "
        f"test batch {cfg.train.test_batch_size}, window {cfg.data.window}, "
        f"precision {cfg.train.precision})",
        fix=memory_advice(cfg),
    )


def warn_if_short_of_memory(cfg: Config, device: torch.device) -> None:
    """Warn up front when the preset's expected peak memory exceeds the GPU's."""
    need = cfg.info.expected_peak_memory_gb
    if device.type != "cuda" or need is None:
        return
    have = torch.cuda.get_device_properties(device).total_memory / 2**30
    if need > have:
        log.warning(
            "%s expects about %.1f GB of GPU memory, %s has %.1f GB; %s",
            cfg.name,
            need,
            device,
            have,
            memory_advice(cfg),
        )
