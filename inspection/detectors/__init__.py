"""Detector backends behind one interface; every backend shares the same pre- and post-processing."""

from inspection.detectors.base import Detector, ModelInfo
from inspection.detectors.factory import load_detector

__all__ = ["Detector", "ModelInfo", "load_detector"]
