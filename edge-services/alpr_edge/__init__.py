"""Edge pipeline: cameras -> detection -> tracking -> plate OCR -> events -> outbox -> Kafka."""
