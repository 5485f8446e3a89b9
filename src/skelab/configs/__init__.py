"""Shipped run presets: `<dataset>-<split>/<model>-<stream>.yaml`; see `skelab.engine.config`."""
