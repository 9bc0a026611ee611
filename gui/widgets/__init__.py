"""Widgets of the operator view."""
