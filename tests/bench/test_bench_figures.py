"""The generated figures stay true: stored memory figures within 5% of a fresh estimate, and the
README table between its markers lists every registered model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skelab.bench.figures import (
    README_END,
    README_START,
    memory_file,
    memory_table,
    replace_readme_table,
)
from skelab.errors import SkelabError
from skelab.models import list_models

README = Path(__file__).resolve().parents[2] / "README.md"
STORED = json.loads(memory_file().read_text())
# The default run checks the cheapest recipe; the slow set checks every preset.
SAMPLE = ["ntu60-xsub/mlp-joint", "ntu120-xsub/mlp-bone-motion"]


def _assert_no_drift(names: list[str]) -> None:
    fresh = memory_table(names)["presets"]
    for name in names:
        stored = STORED["presets"][name]
        for key in ("fp32_gb", "bf16_gb"):
            assert stored[key] == pytest.approx(fresh[name][key], rel=0.05), (name, key)
        assert (stored["batch"], stored["window"]) == (fresh[name]["batch"], fresh[name]["window"])


def test_stored_memory_figures_of_a_sample_match_a_fresh_estimate():
    _assert_no_drift(SAMPLE)


@pytest.mark.slow
def test_every_stored_memory_figure_matches_a_fresh_estimate():
    from skelab.engine.presets import list_presets

    assert set(STORED["presets"]) == set(list_presets())
    _assert_no_drift(list_presets())


def test_memory_file_says_which_command_made_it():
    assert STORED["format"] == 1
    assert STORED["generated_by"].startswith("skelab bench --write-figures")


def test_readme_table_lists_every_registered_model():
    text = README.read_text()
    table = text[text.index(README_START) : text.index(README_END)]

    for name in list_models():
        assert f"| {name} |" in table, name


def test_replace_readme_table_swaps_only_the_part_between_markers():
    text = f"intro\n{README_START}\nold\n{README_END}\noutro\n"

    out = replace_readme_table(text, "| new |\n")

    assert out == f"intro\n{README_START}\n| new |\n{README_END}\noutro\n"


def test_replace_readme_table_needs_the_markers():
    with pytest.raises(SkelabError, match=r"(?s)README.md: no .*fix:"):
        replace_readme_table("no markers here", "| new |\n")
