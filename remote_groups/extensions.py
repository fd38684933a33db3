"""Extensions created once and bound to an app in create_app."""

from __future__ import annotations

from babel import support
from flask import current_app
from flask_babel import Babel, Domain, get_locale
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so Alembic can alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class FinnishFallbackDomain(Domain):
    """A message missing from the Swedish or English catalog shows the Finnish text, never
    an empty string or the English msgid. (The catalog test keeps this from happening; this
    is the safety net.) Translations are cached per application, not per process: Flask-Babel's
    own cache lives on the one global domain and would hand one app's catalogs to another."""

    def get_translations_cache(self, ctx: object) -> dict:
        return current_app.extensions.setdefault("remote_groups.translations", {})

    def get_translations(self) -> support.NullTranslations:
        translations = super().get_translations()
        if not getattr(translations, "finnish_fallback", False):
            if str(get_locale()) != "fi":
                for dirname in self.translation_directories:
                    finnish = support.Translations.load(dirname, ["fi"], "messages")
                    translations.add_fallback(finnish)
            translations.finnish_fallback = True
        return translations


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
babel.domain_instance = FinnishFallbackDomain()
login_manager = LoginManager()
csrf = CSRFProtect()
