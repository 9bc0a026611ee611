"""Making and measuring models: datasets, training, evaluation, the model registry, export, comparison."""
