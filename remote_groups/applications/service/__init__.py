"""Application transactions. Callers commit; a refusal raises ServiceError before anything
changes. Which state may follow which, and who may move it, is the lifecycle's table
(:mod:`remote_groups.applications.lifecycle`); the choice of whom to accept or offer a seat,
:mod:`remote_groups.applications.selection`.

- :mod:`.applying`: the applicant's side: submit (one application per person), the status
  link, contact details, withdraw, delete before a decision, the participant's feed token;
- :mod:`.reviewing`: coordinators' decisions, one or in bulk, the proposed selection and its
  confirmation (all saved unsent), the applications listed for review;
- :mod:`.sending`: the send step of the saved decisions, their mail held for the undo window,
  and undoing it;
- :mod:`.waitlist`: the waiting list: offering a freed seat, confirming and expiring offers;
- :mod:`.retention`: the anonymization of applications after the retention period;
- :mod:`.export`: the accepted participants as a spreadsheet file;
- :mod:`.seats`: the course lock and the seat counts under it, and taking a seat;
- :mod:`.common`: :func:`~.common.move`, the one place an application's state changes, and
  :func:`~.common.notify`, the announcement of a change to the applicant.
"""
