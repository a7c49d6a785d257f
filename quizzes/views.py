"""Views (placeholder while building)."""
