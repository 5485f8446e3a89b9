"""A run's report as one self-contained HTML file: figures, config, and a skeleton player.

Everything is inside the file: the PNGs as base64 `data:` URLs, the config as text, the joint
arrays of the most confused test clips as JSON, and a small script that animates them on a
canvas (a slow turn about the vertical axis, so depth reads as motion). No network, no external
script; the page logs nothing to the console. When it has drawn, the canvas carries
`data-frames` (frames drawn so far) and `data-pixels` (non-background pixels of the first
frame), which is how a headless browser can tell that the player works.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from skelab.viz.runplots import FIGURES, RunView
from skelab.viz.skeleton import PERSON_COLOURS, SampleClip

CAPTIONS = {
    "curves": "Loss and accuracy per epoch (metrics.jsonl)",
    "confusion": "Confusion matrix, rows normalised",
    "per_class": "Per-class top-1 accuracy, worst first",
    "confused_pairs": "Most frequent confusions",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
pre { background: #f6f6f6; padding: 1em; overflow: auto; font-size: 0.85em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; }
#player { border: 1px solid #ccc; background: #fff; }
"""

# The player. Frames are [T][M][V][3]; it projects x/z through a turn about y, draws y upwards.
_PLAYER_JS = """
(function () {
  "use strict";
  var samples = JSON.parse(document.getElementById("player-data").textContent);
  var canvas = document.getElementById("player");
  var select = document.getElementById("player-sample");
  var toggle = document.getElementById("player-toggle");
  var caption = document.getElementById("player-caption");
  var colours = __COLOURS__;
  var ctx = canvas.getContext("2d");
  var current = 0, frame = 0, drawn = 0, playing = true, view = null;

  function extent(s) {
    var lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
    s.frames.forEach(function (persons) {
      persons.forEach(function (joints) {
        joints.forEach(function (p) {
          for (var k = 0; k < 3; k++) {
            lo[k] = Math.min(lo[k], p[k]);
            hi[k] = Math.max(hi[k], p[k]);
          }
        });
      });
    });
    var mid = [0, 1, 2].map(function (k) { return (lo[k] + hi[k]) / 2; });
    var reach = Math.max(Math.hypot(hi[0] - lo[0], hi[2] - lo[2]), hi[1] - lo[1], 1e-3);
    return { mid: mid, scale: 0.8 * Math.min(canvas.width, canvas.height) / reach };
  }

  function draw() {
    var s = samples[current];
    var persons = s.frames[frame];
    var angle = 0.6 * Math.sin(2 * Math.PI * drawn / 240);
    var c = Math.cos(angle), n = Math.sin(angle);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    persons.forEach(function (joints, m) {
      var xy = joints.map(function (p) {
        var x = p[0] - view.mid[0], y = p[1] - view.mid[1], z = p[2] - view.mid[2];
        return [canvas.width / 2 + view.scale * (c * x - n * z),
                canvas.height / 2 - view.scale * y];
      });
      ctx.strokeStyle = colours[m % colours.length];
      ctx.beginPath();
      s.bones.forEach(function (b) {
        ctx.moveTo(xy[b[0]][0], xy[b[0]][1]);
        ctx.lineTo(xy[b[1]][0], xy[b[1]][1]);
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#333333";
    ctx.font = "13px sans-serif";
    ctx.fillText("frame " + (frame + 1) + "/" + s.frames.length, 8, 18);
    drawn += 1;
    canvas.dataset.frames = String(drawn);
    if (drawn === 1) {
      var px = ctx.getImageData(0, 0, canvas.width, canvas.height).data, ink = 0;
      for (var i = 0; i < px.length; i += 4) {
        if (px[i] < 250 || px[i + 1] < 250 || px[i + 2] < 250) { ink++; }
      }
      canvas.dataset.pixels = String(ink);
    }
  }

  function show(i) {
    current = i;
    frame = 0;
    view = extent(samples[i]);
    var s = samples[i];
    caption.textContent = "true: " + s.class_name + " | predicted: " + s.predicted +
      " (" + (100 * s.confidence).toFixed(1) + "%) | test sample " + s.index;
    draw();
  }

  samples.forEach(function (s, i) {
    var option = document.createElement("option");
    option.value = String(i);
    option.textContent = s.class_name + " -> " + s.predicted + " (sample " + s.index + ")";
    select.appendChild(option);
  });
  select.addEventListener("change", function () { show(Number(select.value)); });
  toggle.addEventListener("click", function () {
    playing = !playing;
    toggle.textContent = playing ? "pause" : "play";
  });
  if (samples.length === 0) {
    caption.textContent = "no misclassified test clips to show";
    return;
  }
  show(0);
  setInterval(function () {
    if (!playing) { return; }
    frame = (frame + 1) % samples[current].frames.length;
    draw();
  }, __INTERVAL__);
})();
"""


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def _percent(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}%"


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element: no `</` can close it early."""
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


def render_report(
    view: RunView,
    figures: dict[str, Path],
    clips: list[tuple[SampleClip, str, float]],
    *,
    fps: int = 15,
) -> str:
    """The report page as a string; `clips` are (clip, predicted class name, its probability)."""
    esc = html.escape
    samples = [
        {**clip.to_json(), "predicted": predicted, "confidence": float(confidence)}
        for clip, predicted, confidence in clips
    ]
    pairs = "".join(
        f"<tr><td>{n}</td><td>{esc(view.stats.class_names[t])}</td>"
        f"<td>{esc(view.stats.class_names[p])}</td></tr>"
        for t, p, n in view.stats.confusions[:10]
    )
    figs = "".join(
        f'<figure><img alt="{esc(name)}" src="{_img(figures[name])}">'
        f"<figcaption>{esc(CAPTIONS[name])}</figcaption></figure>"
        for name in FIGURES
        if name in figures
    )
    script = _PLAYER_JS.replace("__COLOURS__", json.dumps(list(PERSON_COLOURS))).replace(
        "__INTERVAL__", str(max(1, round(1000 / fps)))
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(view.name)}: skelab run report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{esc(view.name)}</h1>
<table>
<tr><th>test top-1</th><td>{_percent(view.top1)}</td></tr>
<tr><th>test top-5</th><td>{_percent(view.top5)}</td></tr>
<tr><th>scores</th><td>{esc(view.scores_file)}</td></tr>
<tr><th>epochs logged</th><td>{len(view.records)}</td></tr>
</table>
<h2>Most confused test clips</h2>
<p><select id="player-sample"></select> <button id="player-toggle" type="button">pause</button></p>
<canvas id="player" width="420" height="420"></canvas>
<p id="player-caption"></p>
<h2>Figures</h2>
{figs}
<h2>Most frequent confusions</h2>
<table><tr><th>clips</th><th>true</th><th>predicted</th></tr>{pairs}</table>
<h2>Config</h2>
<pre>{esc(view.config_text)}</pre>
<script type="application/json" id="player-data">{_script_json(samples)}</script>
<script>{script}</script>
</body>
</html>
"""


def write_report(
    view: RunView,
    figures: dict[str, Path],
    clips: list[tuple[SampleClip, str, float]],
    out: str | Path,
) -> Path:
    """Write `render_report(...)` to `out` atomically; returns the path."""
    from skelab.files import atomic_write_text

    return atomic_write_text(out, render_report(view, figures, clips))


def most_confused(
    scores: np.ndarray, labels: np.ndarray, index: np.ndarray, *, k: int
) -> list[tuple[int, int, float]]:
    """Up to `k` misclassified clips, one per (true, predicted) pair, the most frequent pair
    first; within a pair, the clip the model was surest of. Returns (position in the split,
    predicted class, its softmax probability)."""
    pred = scores.argmax(1)
    shifted = scores - scores.max(1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)
    wrong = np.nonzero(pred != labels)[0]
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in wrong:
        pairs.setdefault((int(labels[i]), int(pred[i])), []).append(int(i))
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    picks = []
    for (_, p), rows in ranked[:k]:
        best = max(rows, key=lambda i: (probs[i, p], -i))
        picks.append((int(index[best]), p, float(probs[best, p])))
    return picks
