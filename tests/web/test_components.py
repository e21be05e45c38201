"""The shared layout and the USWDS component macros, rendered on their own."""

from __future__ import annotations

import re
from pathlib import Path

from voice.web.templating import USWDS_DIR, make_environment


def _render(source: str, **context: object) -> str:
    return make_environment().from_string(source).render(**context)


def test_the_layout_has_banner_skip_link_landmarks_and_the_language(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '{% extends "base.html" %}{% block title %}Mine{% endblock %}'
        "{% block content %}<h1>Hello</h1>{% endblock %}",
        encoding="utf-8",
    )
    html = (
        make_environment(tmp_path)
        .get_template("page.html")
        .render(
            lang="es", site_name="Test site", home_url="/home", nav_items=[("Home", "/home", True)]
        )
    )
    assert '<html lang="es">' in html
    assert "An official website of the United States government" in html
    assert '<a class="usa-skipnav" href="#main-content">' in html
    assert '<main id="main-content"' in html
    assert "<title>Mine</title>" in html
    assert 'class="usa-nav-link usa-current" aria-current="page"' in html
    assert '<footer class="usa-footer' in html
    # No side navigation asked for: one column, and no empty side navigation landmark.
    assert "usa-sidenav" not in html
    assert "grid-col-12" in html
    # Everything loads from our own origin.
    assert "https://" not in html.replace("https://</strong>", "")


def test_a_side_navigation_makes_two_columns(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '{% extends "base.html" %}{% import "components.html" as ui %}'
        '{% block side_nav %}{{ ui.side_nav([("One", "/one", True), ("Two", "/two", False)]) }}'
        "{% endblock %}{% block content %}<h1>Hi</h1>{% endblock %}",
        encoding="utf-8",
    )
    html = make_environment(tmp_path).get_template("page.html").render()
    assert html.count('class="usa-sidenav"') == 1
    assert 'href="/one" class="usa-current" aria-current="page"' in html
    assert "desktop:grid-col-9" in html
    assert '<html lang="en">' in html


def test_a_field_with_an_error_is_described_by_its_hint_and_message() -> None:
    html = _render(
        '{% import "components.html" as ui %}'
        '{{ ui.input("phone", "Phone", value="<x>", hint="Ten digits", error="Too short") }}'
    )
    assert 'class="usa-form-group usa-form-group--error"' in html
    assert '<label class="usa-label usa-label--error" for="phone">Phone' in html
    assert '<span class="usa-error-message" id="phone-error" role="alert">Too short</span>' in html
    assert 'aria-describedby="phone-hint phone-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="&lt;x&gt;"' in html  # escaped


def test_a_field_without_hint_or_error_has_no_dangling_description() -> None:
    html = _render(
        '{% import "components.html" as ui %}'
        '{{ ui.select("lang", "Language", [("en", "English"), ("es", "Spanish")], selected="es") }}'
        '{{ ui.textarea("note", "Note", attrs={"maxlength": 200}) }}'
    )
    assert "aria-describedby" not in html
    assert "usa-form-group--error" not in html
    assert '<option value="es" selected>Spanish</option>' in html
    assert 'maxlength="200"' in html


def test_alerts_tables_and_pagination() -> None:
    html = _render(
        '{% import "components.html" as ui %}'
        '{{ ui.alert("error", heading="Stopped", text="Plain", role="alert") }}'
        '{% call ui.table("People", ["Name"]) %}<tr><td data-label="Name">A</td></tr>'
        "{% endcall %}"
        '{{ ui.pagination(2, True, href="?page=") }}{{ ui.pagination(1, False) }}'
    )
    assert 'class="usa-alert usa-alert--error" role="alert"' in html
    assert '<h2 class="usa-alert__heading">Stopped</h2>' in html
    assert 'class="usa-table usa-table--stacked' in html
    assert '<th scope="col">Name</th>' in html
    assert 'href="?page=1"' in html
    assert 'href="?page=3"' in html
    assert 'aria-current="page">2</a>' in html
    # A single page needs no pagination at all.
    assert html.count('class="usa-pagination"') == 1


def test_the_shipped_uswds_assets_are_complete() -> None:
    # Every file the stylesheet refers to is shipped, so no page asks the network for one.
    css = (USWDS_DIR / "css" / "uswds.min.css").read_text(encoding="utf-8")
    urls = {m.strip("\"'") for m in re.findall(r"url\(([^)]*)\)", css)}
    referenced = {u for u in urls if u.startswith("../")}
    assert referenced
    missing = [r for r in referenced if not (USWDS_DIR / "css" / r).resolve().is_file()]
    assert not missing, missing
    assert (USWDS_DIR / "js" / "uswds.min.js").is_file()
    assert (USWDS_DIR / "VERSION").read_text(encoding="utf-8").strip().count(".") == 2
