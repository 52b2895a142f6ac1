"""Per-track plate reading: best-shot quality, multi-frame voting, region format priors, track state."""
