"""Templates: workspace over built-in, `default:` to extend, StrictUndefined, autoescape for markup only."""

from __future__ import annotations

from pathlib import Path

import pytest

from distribute.errors import TemplateError
from distribute.templating import Templates, builtin_templates, hashtag


@pytest.fixture
def builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in built-in template folder (the real one is exercised by the adapter tests)."""
    folder = tmp_path / "builtin"
    (folder / "demo").mkdir(parents=True)
    (folder / "demo" / "page.html.j2").write_text("<h1>{{ title }}</h1>{% block body %}built-in{% endblock %}\n")
    (folder / "demo" / "post.txt.j2").write_text("{{ title }} {{ url }}\n")
    monkeypatch.setattr("distribute.templating.builtin_templates", lambda: folder)
    return folder


def test_the_real_builtin_folder_is_the_repository_templates() -> None:
    assert builtin_templates() == Path(__file__).resolve().parents[1] / "templates"


def test_builtin_is_used_when_the_workspace_has_no_override(builtin: Path, tmp_path: Path) -> None:
    t = Templates(tmp_path / "ws-templates")
    assert t.render("demo/post.txt.j2", title="A & B", url="https://x.org/?a=1&b=2") == "A & B https://x.org/?a=1&b=2\n"


def test_html_is_autoescaped_and_text_is_not(builtin: Path, tmp_path: Path) -> None:
    t = Templates(tmp_path / "none")
    assert t.render("demo/page.html.j2", title="<A & B>") == "<h1>&lt;A &amp; B&gt;</h1>built-in"


def test_a_plugins_templates_come_after_the_workspace_and_before_the_builtins(builtin: Path, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin-templates"
    (plugin / "demo").mkdir(parents=True)
    (plugin / "demo" / "post.txt.j2").write_text("plugin {{ title }}\n")
    (plugin / "demo" / "hook.json.j2").write_text('{"title": {{ title | tojson }}}\n')
    ws = tmp_path / "ws-templates"
    (ws / "demo").mkdir(parents=True)
    (ws / "demo" / "hook.json.j2").write_text('{"ours": {% include "default:demo/hook.json.j2" %}}\n')
    t = Templates(ws, [plugin])
    assert t.render("demo/post.txt.j2", title="T") == "plugin T\n"  # over the built-in of the same name
    assert t.render("demo/hook.json.j2", title="T") == '{"ours": {"title": "T"}\n}\n'  # under the workspace's
    assert t.render("demo/page.html.j2", title="T") == "<h1>T</h1>built-in"
    with pytest.raises(TemplateError) as info:
        t.render("demo/none.txt.j2")
    assert str(plugin / "demo/none.txt.j2") in str(info.value)


def test_workspace_template_overrides_and_can_extend_the_default(builtin: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws-templates"
    (ws / "demo").mkdir(parents=True)
    (ws / "demo" / "page.html.j2").write_text(
        '{% extends "default:demo/page.html.j2" %}{% block body %}ours, then {{ super() }}{% endblock %}'
    )
    assert Templates(ws).render("demo/page.html.j2", title="T") == "<h1>T</h1>ours, then built-in"


def test_undefined_variables_are_errors_not_blanks(builtin: Path, tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="'url' is undefined"):
        Templates(tmp_path / "none").render("demo/post.txt.j2", title="T")


def test_missing_template_names_every_place_searched(builtin: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws-templates"
    ws.mkdir()
    with pytest.raises(TemplateError) as info:
        Templates(ws).render("demo/nope.txt.j2")
    assert str(ws / "demo/nope.txt.j2") in str(info.value)
    assert str(builtin / "demo/nope.txt.j2") in str(info.value)


def test_release_text_is_data_never_template_code(builtin: Path, tmp_path: Path) -> None:
    out = Templates(tmp_path / "none").render("demo/post.txt.j2", title="{{ config }} {% if 1 %}x{% endif %}", url="u")
    assert out == "{{ config }} {% if 1 %}x{% endif %} u\n"


@pytest.mark.parametrize(
    "tag, expected",
    [
        ("NATO", "#NATO"),
        ("South Korea", "#SouthKorea"),
        ("defense spending", "#DefenseSpending"),
        ("burden-sharing", "#BurdenSharing"),
        ("한국", "#한국"),
    ],
)
def test_hashtag_filter(tag: str, expected: str) -> None:
    assert hashtag(tag) == expected
