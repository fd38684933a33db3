"""Importing this module connects every receiver of the domains' events (the app factory
does, once)."""

from remote_groups.notifications import applications, groups, rotation

__all__ = ["applications", "groups", "rotation"]
