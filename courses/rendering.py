"""Lesson Markdown to HTML: key-ideas boxes, glossary links and images resolved for the site."""
from __future__ import annotations

from html import escape

from gennation.courses.source import markdown_renderer
from gennation.platform.i18n import gettext


def render_lesson(markdown: str, lang: str, course_slug: str) -> str:
    md = markdown_renderer()
    tokens = md.parse(markdown)
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open" and str(child.attrGet("href") or "").startswith("glossary:"):
                term = str(child.attrGet("href")).removeprefix("glossary:")
                child.attrSet("href", f"/{lang}/glossary#{term}")
                child.attrSet("class", "term")
            elif child.type == "image" and str(child.attrGet("src") or "").startswith("images/"):
                child.attrSet("src", f"/content/{course_slug}/{child.attrGet('src')}")
                child.attrSet("loading", "lazy")
        if token.type == "container_key-ideas_open":
            token.tag = "aside"
        elif token.type == "container_key-ideas_close":
            token.tag = "aside"
    html = md.renderer.render(tokens, md.options, {})
    title = escape(gettext(lang, "Key ideas"))  # outside the f-string, where Babel's extractor finds it
    return html.replace('<aside class="key-ideas">', f'<aside class="key-ideas">\n<h2>{title}</h2>')
