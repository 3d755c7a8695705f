"""Device models for vboard boards; see README.md."""
