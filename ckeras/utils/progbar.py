"""Keras 2 progress bar: ``Progbar(target).update(current, values)``.

Output (verbose=1), updated in place on a terminal:

    128/1000 [===>..........................] - ETA: 3s - loss: 0.6931
    1000/1000 [==============================] - 2s 2ms/step - loss: 0.6931

When stdout is not a terminal (a log file, a pipe, a CI job) every update
is written as its own newline-terminated line instead, so logs stay
readable. verbose=2 writes only the final line, as `` - 2s - loss: ...``.
Averages: a metric passed in ``values`` is averaged over the samples seen
so far (weighted by the step since the previous update), except names in
``stateful_metrics``, which are shown as given.
"""
import collections
import sys
import time

import numpy as np


def _format_eta(seconds):
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def _format_per_step(seconds):
    if seconds >= 1:
        return " %.0fs/step" % seconds
    if seconds >= 1e-3:
        return " %.0fms/step" % (seconds * 1e3)
    return " %.0fus/step" % (seconds * 1e6)


class Progbar(object):
    """Displays a progress bar.

    Args:
        target: total number of steps (samples or batches) expected, or
            None if unknown.
        width: width of the bar on screen, in characters.
        verbose: 0 (silent), 1 (live bar) or 2 (only the final line).
        interval: minimum time in seconds between two updates on screen.
        stateful_metrics: names of metrics shown as given rather than
            averaged over time (e.g. a running accuracy computed elsewhere).

    Example:
        ```python
        bar = Progbar(1000)
        for i in range(0, 1000, 100):
            bar.add(100, values=[("loss", 0.5)])
        ```
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05,
                 stateful_metrics=None):
        if verbose not in (0, 1, 2):
            raise ValueError("Progbar: `verbose` must be 0, 1 or 2, got %r." % (verbose,))
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stateful_metrics = set(stateful_metrics or ())
        stdout = sys.stdout
        self._dynamic_display = ((hasattr(stdout, "isatty") and stdout.isatty())
                                 or "ipykernel" in sys.modules)
        self._total_width = 0
        self._seen_so_far = 0
        self._values = collections.OrderedDict()  # name -> [weighted sum, count]
        self._start = time.time()
        self._last_update = 0

    def update(self, current, values=None):
        """Moves the bar to ``current`` steps.

        Args:
            current: index of the current step (steps done so far).
            values: list of ``(name, value)`` tuples.
        """
        step = current - self._seen_so_far
        for name, value in values or ():
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
            elif name not in self._values:
                self._values[name] = [value * step, step]
            else:
                self._values[name][0] += value * step
                self._values[name][1] += step
        self._seen_so_far = current

        now = time.time()
        finished = self.target is not None and current >= self.target
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finished and self.target is not None:
                return
            self._write_live_line(current, now, finished)
        elif self.verbose == 2 and (self.target is None or finished):
            line = " - %.0fs" % (now - self._start) + self._metrics_text()
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    def _bar_text(self, current):
        if self.target is None:
            return "%7d/Unknown" % current
        numdigits = int(np.floor(np.log10(self.target))) + 1 if self.target > 0 else 1
        bar = ("%" + str(numdigits) + "d/%d [") % (current, self.target)
        progress = float(current) / self.target if self.target > 0 else 1.0
        filled = min(int(self.width * progress), self.width)
        if filled > 0:
            bar += "=" * (filled - 1)
            bar += ">" if current < self.target else "="
        return bar + "." * (self.width - filled) + "]"

    def _metrics_text(self):
        text = ""
        for name, (total, count) in self._values.items():
            avg = np.mean(total / max(1, count))
            text += " - %s:" % name
            text += " %.4f" % avg if abs(avg) > 1e-3 else " %.4e" % avg
        return text

    def _write_live_line(self, current, now, finished):
        prev_total_width = self._total_width
        bar = self._bar_text(current)
        time_per_unit = (now - self._start) / current if current else 0
        if self.target is not None and not finished:
            info = " - ETA: %s" % _format_eta(time_per_unit * (self.target - current))
        else:
            info = " - %.0fs" % (now - self._start) + _format_per_step(time_per_unit)
        info += self._metrics_text()
        self._total_width = len(bar) + len(info)
        if self._dynamic_display:
            # back to the start of the line; pad so a shorter line hides the old one
            line = "\b" * prev_total_width + "\r" + bar + info
            if prev_total_width > self._total_width:
                line += " " * (prev_total_width - self._total_width)
            if finished:
                line += "\n"
        else:
            line = bar + info + "\n"
        sys.stdout.write(line)
        sys.stdout.flush()
