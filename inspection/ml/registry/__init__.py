"""The model registry: ``models/<name>/`` folders with weights, exports and a model card."""
