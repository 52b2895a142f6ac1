"""Training-side tools of OVR-ALPR: synthetic plates, leak-free dev splits, recogniser fine-tuning.

Nothing here is imported by the edge or core services; the edge image does not install this package's
heavy dependencies (``requirements-training.txt``).
"""
