"""BlockGCN cannot be exported: both exporters refuse it up front and say why."""

from __future__ import annotations

import pytest

from skelab.apps.export import FORMATS, export_model
from skelab.errors import SkelabError
from skelab.models import build, get_card

pytest.importorskip("gph", reason="BlockGCN needs giotto-ph: pip install 'skelab[blockgcn]'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_blockgcn_export_is_refused_naming_the_persistence_computation(fmt, tmp_path):
    model = build("blockgcn", num_classes=5)

    with pytest.raises(SkelabError, match=rf"blockgcn cannot be exported to {fmt}: .*ripser"):
        export_model(
            model,
            tmp_path / "m",
            fmt=fmt,
            model_name="blockgcn",
            shape=(3, 16, 25, 2),
            needs_index_t=False,
        )

    assert not (tmp_path / "m").exists()
    assert "cannot be exported to ONNX or TorchScript" in get_card("blockgcn").notes
