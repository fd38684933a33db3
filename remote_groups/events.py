"""What happened in the domains, announced for whoever needs to act on it.

Domain services send these signals (blinker, which Flask already depends on) after they have
changed their rows, inside the caller's transaction; :mod:`remote_groups.notifications`
receives them and decides who is told what, and a domain above the sender may act on them
too (rotation plans a group's turns again when its sessions change). So a package never
imports a layer above it, and a new consequence of an event (a notice, an audit line) is a new
receiver, not an edit in every service that causes it.

Receivers run synchronously in the sender's transaction: what they queue is committed or
rolled back with the change itself, so no mail goes out about a change that was refused.
The ``sender`` of each signal is the row the event is about; keyword arguments are listed.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# Applications (sender: the Application). ``kind``: received, status_link, withdrawn,
# accepted, rejected, waitlisted, offered, offer_expired; ``version`` makes a repeat of the
# same kind a new message (a new status link an hour later, a second offer); ``held_until``:
# the end of the mail's undo window (a coordinator's decisions sent), or None; ``context``:
# what the message shows besides the application.
application_changed = _events.signal("application-changed")
# A participant just accepted onto a course (sender: the Application; ``now``,
# ``held_until`` as above): their calendar invitations to the coming sessions.
participant_accepted = _events.signal("participant-accepted")

# Groups. sender: the RemoteGroup whose sessions or taking-part regions just changed
# (saved, regenerated, a region joined); ``now``. Rotation plans the group's turns again
# (``rotation.service.plan_turns_again``), so groups need not import the layer above it.
sessions_changed = _events.signal("sessions-changed")
# sender: the Session; ``previous_start``: the session's start before the move.
session_moved = _events.signal("session-moved")
# sender: the Session just cancelled; ``now``. Its participants' calendar cancellations are
# queued at once, held for the undo window (restoring the session takes them back).
session_cancelled = _events.signal("session-cancelled")
# sender: the GroupInvitation just made.
region_invited = _events.signal("region-invited")

# Rotation. sender: the RemoteGroup whose planned turns moved; ``changes``: the
# ``groups.service.TurnChange``s of sessions that had a host and now have another.
turns_moved = _events.signal("turns-moved")
# sender: the Session; ``lead``: the User who now leads it.
lead_assigned = _events.signal("lead-assigned")
# sender: the SwapRequest.
swap_proposed = _events.signal("swap-proposed")
# sender: the SwapRequest; ``affected``: the facilitators whose turn changed; ``changes``:
# the ``TurnChange``s of its sessions (empty when declined), naming each lead who was released.
swap_answered = _events.signal("swap-answered")
# A coordinator answered a facilitator's proposal. sender: the Blackout or SwapRequest;
# ``approved``: True or False.
proposal_answered = _events.signal("proposal-answered")
