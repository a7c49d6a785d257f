"""Pages: placeholder."""
