"""The zero-shot smoke cases that `skelab smoke` runs."""

from __future__ import annotations

import torch

from skelab.zeroshot.smoke import run_method, smoke_cases


def test_one_smoke_case_per_method():
    assert set(smoke_cases()) == {"zeroshot-msf", "zeroshot-fsvae"}


def test_smoke_cases_train_and_evaluate_on_the_cpu():
    for case in smoke_cases().values():
        case(torch.device("cpu"))


def test_smoke_evaluation_reports_fractions():
    result = run_method("fsvae", torch.device("cpu"))

    assert set(result) == {"seen", "unseen", "h"}
    assert all(0.0 <= v <= 1.0 for v in result.values())
