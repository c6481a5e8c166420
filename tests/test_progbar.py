"""Progbar output, on a fake clock so times and ETAs are exact."""
import pytest

from ckeras.utils import progbar as progbar_module
from ckeras.utils.progbar import Progbar


@pytest.fixture
def clock(monkeypatch):
    """now[0] is the time in seconds seen by the progress bar."""
    now = [0.0]

    class FakeTime(object):
        @staticmethod
        def time():
            return now[0]

    monkeypatch.setattr(progbar_module, "time", FakeTime)
    return now


def run(clock, bar, steps):
    """steps: list of (time, current, values)."""
    for t, current, values in steps:
        clock[0] = t
        bar.update(current, values)


def test_not_a_tty_writes_one_line_per_update_with_eta_then_totals(clock, capsys):
    bar = Progbar(1000)
    assert not bar._dynamic_display  # pytest captures stdout: not a terminal
    run(clock, bar, [(1.0, 250, [("loss", 0.5), ("acc", 0.25)]),
                     (2.0, 1000, [("loss", 0.5), ("acc", 0.25)])])
    assert capsys.readouterr().out == (
        " 250/1000 [======>.......................] - ETA: 3s - loss: 0.5000 - acc: 0.2500\n"
        "1000/1000 [==============================] - 2s 2ms/step - loss: 0.5000 - acc: 0.2500\n")


def test_tty_rewrites_the_line_in_place_and_ends_it_when_done(clock, capsys):
    bar = Progbar(10, width=10)
    bar._dynamic_display = True
    run(clock, bar, [(1.0, 5, [("loss", 1.0)]), (2.0, 10, [("loss", 1.0)])])
    out = capsys.readouterr().out
    first = " 5/10 [====>.....] - ETA: 1s - loss: 1.0000"
    assert out.startswith("\r" + first)
    assert out[len(first) + 1:] == ("\b" * len(first) + "\r"
                                    + "10/10 [==========] - 2s 200ms/step - loss: 1.0000\n")
    assert out.count("\n") == 1


def test_tty_pads_a_shorter_line_to_hide_the_old_one(clock, capsys):
    bar = Progbar(100, width=4)
    bar._dynamic_display = True
    run(clock, bar, [(1.0, 10, [("a_long_metric_name", 1.0)]), (2.0, 20, None)])
    out = capsys.readouterr().out
    lines = out.split("\r")
    assert len(lines[1].rstrip("\b")) == len(lines[2])


def test_verbose_2_writes_only_the_final_line(clock, capsys):
    bar = Progbar(100, verbose=2)
    run(clock, bar, [(1.0, 50, [("loss", 1.0)]), (3.0, 100, [("loss", 2.0)])])
    assert capsys.readouterr().out == " - 3s - loss: 1.5000\n"


def test_verbose_0_is_silent(clock, capsys):
    bar = Progbar(10, verbose=0)
    run(clock, bar, [(1.0, 5, [("loss", 1.0)]), (2.0, 10, None)])
    assert capsys.readouterr().out == ""


def test_values_are_averaged_over_steps_except_stateful_metrics(clock, capsys):
    bar = Progbar(400, verbose=2, stateful_metrics=["auc"])
    bar.add(100, [("loss", 1.0), ("auc", 0.9)])
    bar.add(300, [("loss", 3.0), ("auc", 0.7)])
    # loss: (100 * 1 + 300 * 3) / 400
    assert capsys.readouterr().out == " - 0s - loss: 2.5000 - auc: 0.7000\n"


def test_updates_closer_than_interval_are_skipped_but_not_the_last(clock, capsys):
    bar = Progbar(100, interval=0.5)
    run(clock, bar, [(1.0, 10, None), (1.1, 20, None), (1.2, 30, None), (1.6, 40, None),
                     (1.7, 100, None)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("/")[0].strip() for line in lines] == ["10", "40", "100"]


def test_eta_formats_and_small_values(clock, capsys):
    bar = Progbar(10000)
    run(clock, bar, [(10.0, 1, [("loss", 0.0001)]), (10.0, 2, [("loss", 0.0001)])])
    lines = capsys.readouterr().out.splitlines()
    assert " - ETA: 27:46:30 - loss: 1.0000e-04" in lines[0]
    bar = Progbar(100)
    run(clock, bar, [(11.0, 1, None), (111.0, 100, None)])  # started at t=10
    lines = capsys.readouterr().out.splitlines()
    assert " - ETA: 1:39" in lines[0]
    assert lines[1].endswith(" - 101s 1s/step")


def test_unknown_target(clock, capsys):
    bar = Progbar(None)
    run(clock, bar, [(1.0, 10, [("loss", 1.0)])])
    assert capsys.readouterr().out == "     10/Unknown - 1s 100ms/step - loss: 1.0000\n"


def test_bad_verbose():
    with pytest.raises(ValueError, match="`verbose` must be 0, 1 or 2, got 3"):
        Progbar(10, verbose=3)
