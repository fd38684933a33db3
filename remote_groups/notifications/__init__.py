"""Notifications: who is told what, and when.

Above the domains: it receives their events (:mod:`remote_groups.events`) and queues mail in
the outbox (:mod:`remote_groups.outbox`), and the sweep (:mod:`.sweep`) finds what is due by
time (reminders, calendar invitations, turn notices). Importing :mod:`.receivers` connects
the receivers; the app factory does it once.
"""
