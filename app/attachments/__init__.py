"""Attachment files for every channel: stored once by content, outside the database,
under a size limit and a type policy, and always served as downloads."""
