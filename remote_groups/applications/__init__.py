"""Closed-course applications: the form, review, fair selection, waiting list and retention."""
