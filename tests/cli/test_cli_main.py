"""The `skelab` entry point: closed pipes and start-up cost."""

import subprocess
import sys


def test_a_closed_output_pipe_ends_quietly():
    # `skelab configs | head -1`: the reader leaves before skelab has written everything.
    proc = subprocess.Popen(
        [sys.executable, "-m", "skelab.cli.main", "configs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)

    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert code == 0


def test_help_does_not_import_torch():
    script = (
        "import sys\n"
        "from skelab.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'matplotlib') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )

    assert out.returncode == 0, out.stderr
    assert "torch" not in out.stdout.strip().split(","), "a cli module imports torch at the top"


def test_python_dash_m_skelab_is_the_skelab_command():
    # what benchmarks/gpu_check.sh runs where skelab is on PYTHONPATH but not installed
    out = subprocess.run(
        [sys.executable, "-m", "skelab", "models", "--help"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert out.returncode == 0, out.stderr
    assert "usage: skelab models" in out.stdout
