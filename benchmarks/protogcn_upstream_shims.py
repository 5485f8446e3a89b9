"""Import ProtoGCN's (PYSKL) pipeline and model modules without mmcv, from a snapshot outside
the repo (github.com/firework8/ProtoGCN @ddf7f27, unpacked at $PROTOGCN_ROOT).

mmcv is replaced by a small stand-in; the package __init__ files that pull in the whole of
PYSKL (datasets, runner hooks, cv2...) are replaced by empty packages, and the real files are
loaded one by one under their own module names.
"""

import importlib.util
import os
import sys
import types

import numpy as np
import torch.nn as nn

ROOT = os.environ.get("PROTOGCN_ROOT", "/tmp/upstream_protogcn")  # the unpacked snapshot


class Registry:
    def __init__(self, name, parent=None, **kw):
        self._m = {}

    def register_module(self, name=None, force=False, module=None):
        def deco(cls):
            self._m[cls.__name__] = cls
            return cls

        return deco

    def get(self, k):
        return self._m.get(k)

    def __contains__(self, k):
        return k in self._m

    def build(self, cfg, default_args=None):
        cfg = dict(cfg)
        t = cfg.pop("type")
        return self._m[t](**cfg)


def _mod(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _pkg(name, path=None):
    m = _mod(name)
    m.__path__ = [path] if path else []
    return m


def _load(name, rel):
    spec = importlib.util.spec_from_file_location(name, f"{ROOT}/{rel}")
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


def _build_norm_layer(cfg, num):
    assert cfg["type"] == "BN"
    return "bn", nn.BatchNorm2d(num)


def _normal_init(module, mean=0, std=1, bias=0):
    nn.init.normal_(module.weight, mean, std)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def install_mmcv():
    if "mmcv" in sys.modules:
        return
    mmcv = _pkg("mmcv")
    mmcv.__version__ = "1.7.0"
    mmcv.is_str = lambda x: isinstance(x, str)
    mmcv.digit_version = lambda v: tuple(int(p) for p in v.split("."))
    _mod(
        "mmcv.utils",
        Registry=Registry,
        build_from_cfg=lambda cfg, reg, default_args=None: reg.build(cfg),
    )
    _mod(
        "mmcv.cnn",
        MODELS=Registry("models"),
        build_norm_layer=_build_norm_layer,
        build_activation_layer=lambda cfg: nn.ReLU(),
        normal_init=_normal_init,
    )
    _mod("mmcv.runner", load_checkpoint=lambda *a, **k: None, get_dist_info=lambda: (0, 1))
    _mod("mmcv.parallel", DataContainer=object)


def load_pipeline():
    """The pipeline modules: returns pose_related and sampling."""
    install_mmcv()
    _pkg("protogcn", f"{ROOT}/protogcn")
    _mod("protogcn.utils", warning_r0=print)
    _pkg("protogcn.datasets", f"{ROOT}/protogcn/datasets")
    _mod("protogcn.datasets.builder", PIPELINES=Registry("pipeline"))
    _pkg("protogcn.datasets.pipelines", f"{ROOT}/protogcn/datasets/pipelines")
    _load("protogcn.datasets.pipelines.compose", "protogcn/datasets/pipelines/compose.py")
    _load("protogcn.datasets.pipelines.formatting", "protogcn/datasets/pipelines/formatting.py")
    sampling = _load(
        "protogcn.datasets.pipelines.sampling", "protogcn/datasets/pipelines/sampling.py"
    )
    pose = _load(
        "protogcn.datasets.pipelines.pose_related", "protogcn/datasets/pipelines/pose_related.py"
    )
    return pose, sampling


def top_k_accuracy(scores, labels, topk=(1,)):
    res = []
    labels = np.array(labels)[:, np.newaxis]
    for k in topk:
        max_k_preds = np.argsort(scores, axis=1)[:, -k:][:, ::-1]
        match_array = np.logical_or.reduce(max_k_preds == labels, axis=1)
        res.append(match_array.sum() / match_array.shape[0])
    return res


def load_models():
    """The model modules: returns protogcn.models.recognizers.recognizergcn and the builder."""
    install_mmcv()
    _pkg("protogcn", f"{ROOT}/protogcn")
    graph = _load("protogcn.utils.graph", "protogcn/utils/graph.py")
    utils = _pkg("protogcn.utils", f"{ROOT}/protogcn/utils")
    utils.Graph = graph.Graph
    utils.cache_checkpoint = lambda x: x
    utils.warning_r0 = print
    _mod("protogcn.core", top_k_accuracy=top_k_accuracy)
    _pkg("protogcn.models", f"{ROOT}/protogcn/models")
    builder = _load("protogcn.models.builder", "protogcn/models/builder.py")
    _pkg("protogcn.models.gcns", f"{ROOT}/protogcn/models/gcns")
    _load("protogcn.models.gcns.utils", "protogcn/models/gcns/utils/__init__.py")
    _load("protogcn.models.gcns.protogcn", "protogcn/models/gcns/protogcn.py")
    _pkg("protogcn.models.losses", f"{ROOT}/protogcn/models/losses")
    _load("protogcn.models.losses.base", "protogcn/models/losses/base.py")
    _load(
        "protogcn.models.losses.cross_entropy_loss", "protogcn/models/losses/cross_entropy_loss.py"
    )
    _load(
        "protogcn.models.losses.Class_Specific_Contrastive_Loss",
        "protogcn/models/losses/Class_Specific_Contrastive_Loss.py",
    )
    _pkg("protogcn.models.heads", f"{ROOT}/protogcn/models/heads")
    _load("protogcn.models.heads.base", "protogcn/models/heads/base.py")
    _load("protogcn.models.heads.simple_head", "protogcn/models/heads/simple_head.py")
    _pkg("protogcn.models.recognizers", f"{ROOT}/protogcn/models/recognizers")
    _load("protogcn.models.recognizers.base", "protogcn/models/recognizers/base.py")
    rec = _load(
        "protogcn.models.recognizers.recognizergcn", "protogcn/models/recognizers/recognizergcn.py"
    )
    return rec, builder
