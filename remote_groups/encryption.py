"""Encryption at rest of the most sensitive columns (an applicant's ``needs``: health data).

A column typed :class:`EncryptedText` holds a Fernet token (AES-128-CBC with an HMAC-SHA256,
``cryptography``'s recipe): the model reads and writes plain text, the database, its dumps
and its replicas see only ciphertext. The keys come from the setting ``DATA_KEYS``
(``REMOTE_GROUPS_DATA_KEYS``): a comma-separated list of Fernet keys, **newest first**.
New values are encrypted with the first key; a value is read with whichever key opens it
(``MultiFernet``), so a key can be rotated without downtime: put the new key first, restart,
run ``flask data rotate-key`` (:func:`rotate_encrypted_columns`), then drop the old key.

Production refuses to start without a key (:func:`data_key_problems`). In development, with
no key set, one is derived from ``SECRET_KEY``, so ``make run`` needs no setup; such a key is
only as secret as that development key.

A value that no configured key opens raises :class:`UndecryptableData`, never garbage: the
key that wrote it was lost or removed too early. The column is loaded only when read
(``deferred``), so the rest of the row stays usable and a page can say what is wrong.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Column, Table, Text, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

from remote_groups.extensions import db

log = logging.getLogger(__name__)

NEW_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class UndecryptableData(RuntimeError):
    """A stored value that none of the configured data keys opens."""

    def __init__(self, column: str):
        super().__init__(
            f"a value of {column} cannot be decrypted: no key in DATA_KEYS "
            "(REMOTE_GROUPS_DATA_KEYS) opens it. The key that encrypted it is missing: put it "
            "back in the list (after the newest key) and run `flask data rotate-key` before "
            "removing it again."
        )
        self.column = column


def configured_keys(config: Mapping[str, Any]) -> list[str]:
    """The keys of the setting, newest first: a comma-separated string or a list."""
    raw = config.get("DATA_KEYS") or []
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list | tuple):
        return []
    return [key.strip() for key in raw if isinstance(key, str) and key.strip()]


def data_key_problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``DATA_KEYS``, for the start-up check. Never shows a key."""
    raw = config.get("DATA_KEYS")
    if raw is not None and not isinstance(raw, str | list | tuple):
        return [
            "DATA_KEYS must be a comma-separated list of Fernet keys, newest first, "
            f"not a {type(raw).__name__}"
        ]
    problems = []
    keys = configured_keys(config)
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            problems.append(
                f"DATA_KEYS: key {number} of {len(keys)} is not a Fernet key (32 random bytes "
                f"in url-safe base64, 44 characters); make one with\n    {NEW_KEY_COMMAND}"
            )
    if not keys and config.get("ENV") == "production":
        problems.append(
            "DATA_KEYS: production needs a key to encrypt applicants' needs (health data) at "
            f"rest. Make one with\n    {NEW_KEY_COMMAND}\n"
            "  and set REMOTE_GROUPS_DATA_KEYS=<the key> (keep it apart from the database "
            "backups: without it the needs cannot be read)."
        )
    return problems


@lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    """The development key: HKDF-SHA256 of SECRET_KEY, as a Fernet key."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"remote_groups data key"
    ).derive(secret.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def data_keys(config: Mapping[str, Any]) -> list[bytes]:
    """The keys in use, newest first: the configured ones, or in development the derived one."""
    keys = [key.encode("ascii") for key in configured_keys(config)]
    if keys:
        return keys
    if config.get("ENV") == "production":  # check_config refuses this at start
        raise RuntimeError("DATA_KEYS is not set")
    return [_derived_key(str(config["SECRET_KEY"]))]


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def keyring(config: Mapping[str, Any] | None = None) -> MultiFernet:
    """Every data key, newest first; the current app's unless ``config`` is given."""
    return _multi_fernet(tuple(data_keys(config if config is not None else current_app.config)))


def newest_key(config: Mapping[str, Any] | None = None) -> Fernet:
    return Fernet(data_keys(config if config is not None else current_app.config)[0])


def encrypt(text: str, config: Mapping[str, Any] | None = None) -> str:
    return keyring(config).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str, column: str, config: Mapping[str, Any] | None = None) -> str:
    try:
        return keyring(config).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise UndecryptableData(column) from None


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the newest data key; read with any of them. Equality in SQL never
    matches (every encryption differs), so such a column is never searched."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str):
        super().__init__()
        self.column = column  # "table.column", for the error message

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value, self.column)


@dataclass
class RotationReport:
    rotated: int = 0
    current: int = 0  # already encrypted with the newest key
    undecryptable: list[str] = field(default_factory=list)  # "table.column id"


def encrypted_columns(tables: list[Table]) -> list[tuple[Table, Column[Any]]]:
    return [
        (table, column)
        for table in tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def _opens(key: Fernet, token: bytes) -> bool:
    try:
        key.decrypt(token)
    except InvalidToken:
        return False
    return True


def rotate_encrypted_columns(batch_size: int = 500) -> RotationReport:
    """Re-encrypt every value of every :class:`EncryptedText` column with the newest key, one
    transaction per batch of rows.

    Idempotent: a value the newest key already opens is left as it is, so a run that was
    stopped can simply be started again. A value no key opens is counted and left alone.
    """
    report = RotationReport()
    rings, newest = keyring(), newest_key()
    for table, column in encrypted_columns(db.metadata.sorted_tables):
        [key_column] = table.primary_key.columns
        raw = type_coerce(column, Text)  # the stored token, not decrypted
        last = None
        while True:
            query = select(key_column, raw).where(column.is_not(None))
            if last is not None:
                query = query.where(key_column > last)
            rows = db.session.execute(query.order_by(key_column).limit(batch_size)).all()
            if not rows:
                break
            for row_key, token in rows:
                last = row_key
                stored = token.encode("ascii", errors="replace")  # plain text never opens
                if _opens(newest, stored):
                    report.current += 1
                    continue
                try:
                    rotated = rings.rotate(stored).decode("ascii")
                except InvalidToken:
                    report.undecryptable.append(f"{table.name}.{column.name} {row_key}")
                    continue
                # Only if unchanged since read: a value removed meanwhile (the retention
                # rule) must not come back.
                db.session.execute(
                    update(table)
                    .where(key_column == row_key, raw == token)
                    .values({column.name: type_coerce(rotated, Text)})
                )
                report.rotated += 1
            db.session.commit()
    log.info(
        "data keys: %d values re-encrypted, %d already current, %d undecryptable",
        report.rotated,
        report.current,
        len(report.undecryptable),
    )
    return report
