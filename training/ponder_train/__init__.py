"""Ponder's PyTorch side: the Shapes world (language/, image/, scenes, evaluator), the
reference model the engine is held to (model, vq_autoencoder), training (data, sequences,
schedule, checkpoint), the exporter to the engine's GGUF (export) and the accuracy measures
through libponder (accuracy, binding). training/README.md lists each file's job."""
