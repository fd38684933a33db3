"""Calendar feeds and invitations, one module per concern (the calendar's service layer).

- :mod:`.specs`: what names a feed and its version (:class:`~.specs.FeedSpec`,
  :class:`~.specs.FeedWindow`, :class:`~.specs.FeedVersion`, :class:`~.specs.CurrentFeed`)
  and the window of sessions a feed shows (:func:`~.specs.feed_window`).
- :mod:`.queries`: the Core SQL statements: a feed's sessions in its window, the aggregates
  that version a feed, and the lookups of tokens and slugs.
- :mod:`.versions`: a feed's version (its ETag, with the settings and catalogs that shape
  it) and which feed a URL names (:func:`~.versions.group_feed`,
  :func:`~.versions.participant_feed`, :func:`~.versions.facilitator_feed`,
  :func:`~.versions.region_feed`).
- :mod:`.content`: the feed's iCalendar bytes (:func:`~.content.build_feed`), built once per
  version and process (:func:`~.content.feed_bytes`, :data:`~.content.built_feeds`).
- :mod:`.invitations`: the iMIP invitation to one session that the notifications mail
  (:func:`~.invitations.session_invitation`, :class:`~.invitations.UnusableMeetingLink`).
"""
