"""Fine-tuning of the fast-plate-ocr recogniser (needs ``requirements-training.txt``: torch, onnx2torch)."""
