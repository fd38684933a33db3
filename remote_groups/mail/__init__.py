"""The mail outbox, message rendering, SMTP delivery and the reminder sweep."""
