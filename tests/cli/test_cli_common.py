"""The shared option helpers of skelab.cli._common: deprecated spellings and output checks."""

import argparse
from pathlib import Path

import pytest

from skelab.cli._common import (
    add_out_option,
    add_precision_option,
    check_output,
    deprecated_alias,
)
from skelab.errors import ConfigError


def test_deprecated_alias_sets_the_new_option_and_warns_once(capsys):
    p = argparse.ArgumentParser()
    p.add_argument("--fusion-weights", dest="fusion_weights")
    deprecated_alias(p, "--weights", "--fusion-weights")

    args = p.parse_args(["--weights", "0.6,0.4", "--weights", "1,1"])

    assert args.fusion_weights == "1,1"
    err = capsys.readouterr().err
    assert err.count("skelab: warning: --weights is deprecated; use --fusion-weights") == 1


def test_amp_alias_maps_to_precision(capsys):
    p = argparse.ArgumentParser()
    add_precision_option(p)

    assert p.parse_args(["--amp"]).precision == "fp16"
    assert p.parse_args(["--amp", "none"]).precision == "fp32"
    assert p.parse_args(["--amp", "bf16"]).precision == "bf16"
    assert p.parse_args([]).precision is None
    assert "--amp is deprecated" in capsys.readouterr().err


def test_new_spelling_prints_no_warning(capsys):
    p = argparse.ArgumentParser()
    add_precision_option(p)
    add_out_option(p, help="where")

    args = p.parse_args(["--precision", "bf16", "--out", "x", "--overwrite"])

    assert (args.precision, str(args.out), args.overwrite) == ("bf16", "x", True)
    assert capsys.readouterr().err == ""


def test_check_output_refuses_existing_file_without_overwrite(tmp_path):
    target = tmp_path / "a.onnx"
    target.write_text("x")

    with pytest.raises(ConfigError, match=r"(?s)--out.*exists.*--overwrite"):
        check_output(target, overwrite=False)
    check_output(target, overwrite=True)


@pytest.mark.parametrize("where", ["folder", "under_file", "proc"])
def test_check_output_refuses_unwritable_places(tmp_path, where):
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    path = {
        "folder": tmp_path,
        "under_file": blocker / "out.gif",
        "proc": Path("/proc/skelab-test/out.gif"),
    }[where]

    with pytest.raises(ConfigError, match="--out"):
        check_output(path, overwrite=True)
