"""Text (online literature) piracy benchmark: corpus, pirate pages, baseline, metrics."""
