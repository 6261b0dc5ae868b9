"""Ponder's PyTorch side: the reference model the engine is checked against, the exporter
to the engine's GGUF format, and (with the model issue) the training pipeline."""
