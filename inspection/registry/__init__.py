"""The model registry: ``models/<name>/`` folders with weights, exports and a model card."""

from inspection.registry.card import CARD, InputSpec, ModelCard, find_card, read_card, verify_model_file, write_card

__all__ = ["CARD", "InputSpec", "ModelCard", "find_card", "read_card", "verify_model_file", "write_card"]
