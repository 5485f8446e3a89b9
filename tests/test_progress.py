"""skelab.progress: off a terminal, a bar is plain periodic log lines (count, rate, ETA)."""

import io

from skelab.progress import LogLines, progress_bar


def test_log_lines_report_count_rate_and_eta_without_carriage_returns(monkeypatch):
    stream = io.StringIO()
    clock = iter([0.0, 10.0, 20.0, 30.0])
    monkeypatch.setattr("skelab.progress.time.monotonic", lambda: next(clock))
    bar = LogLines(total=40, desc="prepare", unit="file", every=10.0, stream=stream)

    bar.update(10)  # t=10: a line
    bar.update(10)  # t=20: a line
    bar.set_postfix(loss="0.41")
    bar.close()  # t=30: the last line

    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0] == "prepare: 10/40 file (25%), 1 file/s, ETA 0:30"
    assert lines[1] == "prepare: 20/40 file (50%), 1 file/s, ETA 0:20"
    assert lines[2] == "prepare: 20/40 file (50%), 1 file/s, ETA 0:30 (loss=0.41)"


def test_progress_bar_off_a_terminal_is_log_lines_and_iterates(capsys):
    bar = progress_bar(range(3), desc="x", unit="it")  # stderr is captured: not a terminal

    assert isinstance(bar, LogLines)
    assert list(bar) == [0, 1, 2]
    assert capsys.readouterr().err.strip().startswith("x: 3/3 it (100%)")


def test_disabled_bar_prints_nothing(capsys):
    with progress_bar(total=5, desc="x", enabled=False) as bar:
        bar.update(5)

    assert capsys.readouterr().err == ""
