"""The error helpers every layer shares."""

from __future__ import annotations

from skelab.errors import closest, did_you_mean, suggestion


def test_did_you_mean_names_the_closest_choice_ignoring_case():
    assert did_you_mean("ctrgnc", ["ctrgcn", "stgcn"]) == "; did you mean 'ctrgcn'?"
    assert closest("WAVE", ["wave", "walk"]) == ["wave"]


def test_did_you_mean_lists_up_to_n_and_says_nothing_without_a_close_choice():
    assert did_you_mean("walk", ["walking", "walks", "run"], n=2) == (
        "; did you mean 'walks', 'walking'?"
    )
    assert did_you_mean("zzz", ["abc"]) == ""
    assert suggestion([]) == ""
