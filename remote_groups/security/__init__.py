"""Defences at the edge: security headers, per-address rate limits and login lockout."""
