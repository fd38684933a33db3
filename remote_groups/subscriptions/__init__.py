"""Email subscriptions to an open group's reminders (no account: double opt-in, one-click
unsubscribe), and how long they are kept."""
