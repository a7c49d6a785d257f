"""Language: Chinese by default, switchable per user; catalogues compiled on start when stale."""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app, request, session
from flask_login import current_user

ROOT = Path(__file__).resolve().parents[2]
# Every package keeps its own catalogue so that features own their strings.
TRANSLATION_DIRS = [
    ROOT / "lms" / "translations",
    ROOT / "lms" / "offline" / "translations",
    ROOT / "lms" / "training" / "translations",
    ROOT / "lms" / "culture" / "translations",
    ROOT / "lms" / "hazards" / "translations",
    ROOT / "lms" / "permits" / "translations",
    ROOT / "lms" / "oversight" / "translations",
    ROOT / "lms" / "api" / "translations",
    ROOT / "courses" / "translations",
    ROOT / "quizzes" / "translations",
    ROOT / "certificates" / "translations",
]


def translation_dirs() -> list[str]:
    """Return the catalogue folders that exist."""
    return [str(d) for d in TRANSLATION_DIRS if d.exists()]


def compile_catalogs() -> None:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older (atomic, safe for many workers)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for base in TRANSLATION_DIRS:
        for po in base.glob("*/LC_MESSAGES/messages.po"):
            lang = po.parent.parent.name
            # Babel resolves zh_CN to zh_Hans_CN, and gettext then looks for zh_Hans_CN or zh, never zh_CN.
            target = base / ("zh" if lang.startswith("zh") else lang) / "LC_MESSAGES"
            target.mkdir(parents=True, exist_ok=True)
            mo = target / "messages.mo"
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with open(po, "rb") as fh:
                catalog = read_po(fh)
            tmp = mo.with_name(f"messages.mo.{os.getpid()}.tmp")
            with open(tmp, "wb") as out:
                write_mo(out, catalog)
            tmp.replace(mo)


def select_locale() -> str:
    """Pick the user's language, else the session's choice, else Chinese."""
    langs = current_app.config["LANGUAGES"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in langs:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in langs:
        return chosen
    if request and request.args.get("lang") in langs:
        return request.args["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


_PACKAGE_DIRS: dict[str, Path | None] = {}


def _package_dir_of(blueprint_name: str | None) -> Path | None:
    """The catalogue folder of a blueprint's package (looked up on disk once per blueprint)."""
    from flask import current_app

    if not blueprint_name:
        return None
    name = blueprint_name.split(".")[0]
    if name not in _PACKAGE_DIRS:
        bp = current_app.blueprints.get(name)
        d = Path(bp.root_path) / "translations" if bp is not None else None
        _PACKAGE_DIRS[name] = d if d is not None and d.exists() else None
    return _PACKAGE_DIRS[name]


def install_package_domain(app: object) -> None:
    """Let each feature's own catalogue win on its own pages.

    All catalogues are merged (flask-babel merges them in a fixed order, so a word such as "People" — 人员 in
    the organisation pages, 人数 in a coverage table — would take one meaning everywhere). Here the merge order
    is: the other features, then the core, then the package of the blueprint serving the request, last so it
    wins. Menu labels carry the context "menu" and never collide.
    """
    from babel import support
    from flask import g, has_request_context, request
    from flask_babel import Domain, get_locale

    core = TRANSLATION_DIRS[0]
    cache: dict[tuple[str, str], object] = {}

    class PackageDomain(Domain):
        def get_translations(self):  # type: ignore[no-untyped-def]
            in_request = has_request_context()
            if in_request:  # a page calls gettext hundreds of times: resolve its catalogue once per locale
                # (per locale: force_locale within a request, e.g. a notification stored in the platform's
                # language while an English page is served, must neither see nor leave the other catalogue)
                locale = get_locale()
                last = g.get("_lms_translations_last")  # (locale, catalogue): a page asks for the same one
                if last is not None and last[0] is locale:  # (the tuple holds the locale: no id is reused)
                    return last[1]
                per_locale = g.get("_lms_translations")
                if per_locale is None:
                    per_locale = g._lms_translations = {}
                key = str(locale)
                chosen = per_locale.get(key)
                if chosen is None:
                    chosen = per_locale[key] = self._resolve(True)
                g._lms_translations_last = (locale, chosen)
                return chosen
            return self._resolve(False)

        def _resolve(self, in_request: bool):  # type: ignore[no-untyped-def]
            locale = get_locale() if in_request else None
            if locale is None:
                try:
                    from flask import current_app

                    locale = current_app.config.get("BABEL_DEFAULT_LOCALE")
                except RuntimeError:
                    return support.NullTranslations()
            own = _package_dir_of(request.blueprint) if in_request else None
            key = (str(locale), str(own))
            found = cache.get(key)
            if found is not None:
                return found
            dirs = [d for d in TRANSLATION_DIRS if d.exists() and d != core and d != own] + [core]
            if own is not None and own != core:
                dirs.append(own)
            merged = support.Translations()
            for d in dirs:
                catalog = support.Translations.load(str(d), [locale], "messages")
                merged.merge(catalog)
                if hasattr(catalog, "plural"):
                    merged.plural = catalog.plural
            cache[key] = merged
            return merged

    app.extensions["babel"].instance.domain_instance = PackageDomain()  # type: ignore[attr-defined]


class Message(str):
    """An English problem message that remembers its template so pages can show it translated.

    Its ``str`` value is ``template % params`` (English), so JSON, the command line and tests see plain text;
    the ``tr`` template filter renders ``gettext(template) % params`` in the reader's language.
    """

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, params: dict[str, object] | None = None) -> Message:
        params = dict(params or {})
        obj = super().__new__(cls, template % params if params else template)
        obj.template = template
        obj.params = params
        return obj

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Message, (self.template, self.params))


def msg(template: str, **params: object) -> Message:
    """Return a translatable problem message: English ``template % params`` that ``|tr`` translates."""
    return Message(template, params)


def translate_message(value: object) -> object:
    """The ``tr`` filter: a Message in the reader's language, any other value unchanged."""
    if isinstance(value, Message):
        from flask_babel import gettext

        # A message inside a message ("line 3: <the problem>") is translated too.
        return gettext(value.template, **{k: translate_message(v) for k, v in value.params.items()})
    return value
