"""Feedback: satisfaction surveys after each resolution, and structured feedback records."""
