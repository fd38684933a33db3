"""Export one region's data as a JSON document, and import such a document.

The nightly ``pg_dump`` backs up the whole database (README, "Backups"). A region export is a
readable copy of one region's own data: to move the region to another installation, or to
restore it alone into a fresh one.

- :mod:`.document`: the document itself: its format (what it holds and leaves out), its
  fields, writing values as JSON, reading and checking a document as a whole, and its
  ``summary``. It needs no database and no app, and imports no models;
- :mod:`.tables`: the document's items as the models' rows: the fields of a group, and how a
  field's JSON value becomes its column's value (``SCHEMA``, which the reader is given);
- :mod:`.exporting`: ``export_region``, the document of a region in this database;
- :mod:`.importing`: ``import_region``, a checked document written into this database in one
  transaction, after refusing what the database already has.
"""
