"""One customer across channels: identities (email, phone, handle) and finding the
customer behind one, for every intake channel."""
