"""The outbox: mail as rows first, then delivered (queue, claim, deliver, retry, retention).

The lowest layer that knows about mail. It imports no domain package and no notification
logic: a message says what it is (``MessageKind``) and what it is about (``session_id``,
``application_id``) in typed columns, and the layers above decide who gets what
(:mod:`remote_groups.notifications`).
"""
