"""The CPU reading behind resource_usage: psutil's own numbers, reused for a moment instead of sampled per call."""

from __future__ import annotations

from venom_mcp.adapters.system import _CpuMeter


def test_a_reading_is_a_percentage_of_the_machine() -> None:
    meter = _CpuMeter()
    for _ in range(3):
        assert 0.0 <= meter.read() <= 100.0


def test_a_reading_asked_again_at_once_is_the_same_reading() -> None:
    meter = _CpuMeter()
    meter.REUSE_S = 1e9  # every later reading falls inside the reuse window, however slow this machine is
    first = meter.read()
    assert [meter.read() for _ in range(5)] == [first] * 5


def test_readings_after_the_window_are_new_samples() -> None:
    meter = _CpuMeter()
    meter.REUSE_S, meter.STALE_S = 0.0, 1e9  # each reading is psutil's non-blocking one, since the previous
    meter.read()
    at = meter._at
    assert 0.0 <= meter.read() <= 100.0
    assert meter._at is not None and at is not None and meter._at > at
