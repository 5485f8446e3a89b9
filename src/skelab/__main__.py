"""`python -m skelab`: the `skelab` command, for machines where the package is on PYTHONPATH
but not installed (the console script is then missing)."""

from skelab.cli.main import main

raise SystemExit(main())
