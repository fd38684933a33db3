"""Remote groups, their sessions and schedule generation."""
