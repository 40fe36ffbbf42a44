"""Customer sign-in without passwords: a one-time link by email, exchanged for a token."""
