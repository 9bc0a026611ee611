"""Measuring models: accuracy on a labelled dataset, parity of exports, verdict flips between models."""
