"""Jinja2 templates: workspace templates/ over plugins' templates over the built-ins.

A name is looked up in the workspace's templates/ first, then in the template folders of the
plugins in use (`Adapter.templates`), then among the built-ins; the `default:` prefix skips the
workspace, so an override can `{% extends "default:email/newsletter.html.j2" %}`.

Release text is only ever passed to templates as data; nothing from a release is compiled
as template code, so `{{ config }}` in a body appears literally in every output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TemplateError

if TYPE_CHECKING:
    import jinja2

    from .text.i18n import Lang

# Autoescape only where the output is markup; text templates must not get &amp; entities.
_ESCAPED = ("html", "xml", "html.j2", "xml.j2", "xhtml.j2")


def builtin_templates() -> Path:
    """The built-in templates: shipped inside the wheel, or the repository's templates/ in a checkout."""
    packaged = resources.files("distribute") / "templates"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates"


class Templates:
    """The template environment of a workspace."""

    def __init__(self, workspace_dir: Path | None, plugin_dirs: Sequence[Path] = ()):
        self.workspace_dir = workspace_dir
        self.plugin_dirs = list(dict.fromkeys(plugin_dirs))
        self.builtin_dir = builtin_templates()

    @property
    def searched(self) -> list[Path]:
        dirs = [*self.plugin_dirs, self.builtin_dir]
        if self.workspace_dir is not None and self.workspace_dir.resolve() != self.builtin_dir.resolve():
            dirs.insert(0, self.workspace_dir)
        return dirs

    @cached_property
    def env(self) -> jinja2.Environment:
        """The environment of English (the msgids), for callers that name no language."""
        from .text.i18n import english

        return self._build(english())

    @cached_property
    def _loader(self) -> jinja2.BaseLoader:
        import jinja2

        # The defaults: plugins' template folders (in the order given), then the built-ins.
        default = jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(d)) for d in self.plugin_dirs]
            + [jinja2.FileSystemLoader(str(self.builtin_dir))]
        )
        loaders: list[jinja2.BaseLoader] = []
        if self.workspace_dir is not None and self.workspace_dir.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(self.workspace_dir)))
        loaders.append(jinja2.PrefixLoader({"default": default}, delimiter=":"))
        loaders.append(default)
        return jinja2.ChoiceLoader(loaders)

    @cached_property
    def _compiled(self) -> jinja2.BytecodeCache | None:
        return compiled_templates()

    def _build(self, lang: Lang) -> jinja2.Environment:
        import jinja2

        env = jinja2.Environment(
            loader=self._loader,
            bytecode_cache=self._compiled,
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=_ESCAPED, default_for_string=False, default=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        env.filters["localtime"] = _localtime
        env.filters["isotime"] = lambda value: value.isoformat()
        env.filters["hashtag"] = hashtag
        # _(), gettext() and ngettext() speak the language (newstyle: values by name, autoescaped in HTML).
        env.install_gettext_translations(lang.catalog, newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(lang.template_globals())
        return env

    def env_for(self, lang: Lang | None) -> jinja2.Environment:
        """The environment speaking `lang` (one per language and catalog version, kept)."""
        if lang is None:
            return self.env
        key = (lang.tag, lang.key)
        env = self._by_lang.get(key)
        if env is None:
            env = self._by_lang[key] = self._build(lang)
        return env

    @cached_property
    def _by_lang(self) -> dict[tuple[Any, ...], jinja2.Environment]:
        return {}

    def render(self, name: str, lang: Lang | None = None, **context: Any) -> str:
        """Render one template (in `lang`, when given); a missing one names every place searched."""
        import jinja2

        try:
            template = self.env_for(lang).get_template(name)
            return template.render(**context)
        except jinja2.TemplateNotFound as exc:
            places = ", ".join(str(d / name) for d in self.searched)
            missing = exc.name if exc.name != name else name
            raise TemplateError(f"template {missing!r} not found; looked in {places}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {name!r}: {exc.message}; fix the template or the release") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error: {exc.message}", path=exc.filename or name, line=exc.lineno
            ) from None

    def exists(self, name: str) -> bool:
        """Whether a template of that name can be found (found, not compiled: render compiles it in its language)."""
        import jinja2

        try:
            self._loader.get_source(self.env, name)
        except jinja2.TemplateNotFound:
            return False
        return True


def compiled_templates() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs, in the user's cache folder (None where there is none to write).

    Compiling the templates was a tenth of a cold `validate` or `preview`: each run lexed, parsed
    and compiled every template again. Jinja keys each file by name and checks the source's hash,
    so an edited template is compiled afresh; the folder's name carries a hash of this file and
    the Jinja and Python versions, because the code compiled depends on the environment's options.
    Only template code goes there (never a release, a setting or a secret).
    """
    import sys

    import jinja2

    from .cachedir import cache_path

    class Cache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # a full disk or a cache folder removed underneath: compile again next time
                pass

    folder = cache_path("templates", Path(__file__), jinja2.__version__.encode(), sys.version.encode())
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:  # it cannot be written: compile every run
        return None
    return Cache(str(folder), "%s.jinja")


def _localtime(value: dt.datetime, tz: Any = None, fmt: str = "%B %-d, %Y %H:%M %Z") -> str:
    return (value.astimezone(tz) if tz else value).strftime(fmt)


def hashtag(tag: str) -> str:
    """A tag as a hashtag: "South Korea" -> "#SouthKorea", "C++" -> "#CPlusPlus", "R&D" -> "#RandD"; "" when it has none."""
    from .text.entities import hashtag_for  # here: only social templates use it (its patterns ~1% of a cold preview)

    return hashtag_for(tag) or ""
