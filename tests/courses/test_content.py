"""The real courses in courses/content: valid, loadable, listed by the API, every lesson renders."""
import re

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from gennation.courses.service import load_courses
from gennation.courses.source import read_all
from gennation.platform.app import create_app
from gennation.platform.db_migrations import upgrade
from gennation.platform.i18n import LOCALE_DIR
from gennation.platform.settings import ROOT, Settings

CONTENT = ROOT / "courses" / "content"
COURSES = {"ai-basics-school": "school", "ai-civil-service": "civil_servant", "genai-for-everyone": "citizen",
           "teaching-ai": "teacher"}


@pytest.fixture(scope="module")
def sources():
    courses, glossary, errors = read_all(CONTENT)
    assert [str(e) for e in errors] == []
    return courses


@pytest.fixture(scope="module")
def content_client(sources, tmp_path_factory):
    folder = tmp_path_factory.mktemp("content-db")
    settings = Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}", secret_key="k" * 40, var_dir=folder,
                        content_dir=CONTENT).resolved()
    upgrade(settings.database_url)
    app = create_app(settings)
    with app.state.db.unit_of_work() as session:
        assert set(load_courses(session, sources).values()) == {"created"}
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_the_four_courses_meet_the_quality_bar(sources):
    assert {c.id: c.audience for c in sources} == COURSES
    minimum_modules = {"ai-basics-school": 6, "ai-civil-service": 5, "genai-for-everyone": 5, "teaching-ai": 4}
    for course in sources:
        assert len(course.modules) >= minimum_modules[course.id]
        for module in course.modules:
            kinds = {q.kind for q in module.quiz.questions}
            assert len(module.quiz.questions) >= 8 and len(kinds) >= 2, (course.id, module.id)
        if course.id in ("ai-civil-service", "genai-for-everyone"):
            assert course.final_exam.draw >= 20 and len(course.final_exam.questions) >= 40


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_api_lists_all_four_courses_with_counts(content_client, lang):
    listed = content_client.get("/api/v1/courses", params={"lang": lang}).json()
    assert [c["slug"] for c in listed] == list(COURSES)
    for course in listed:
        assert course["counts"]["lessons"] >= 12 and course["counts"]["questions"] >= 40
        assert course["counts"]["words"] > 5000 and course["title"]


# The national idea is written in Latin letters in the concept itself, so lessons may quote it.
PROPER_NAMES = {"Generative Nation"}


def english_interface_strings(lang: str) -> set[str]:
    """Interface strings whose translation differs from the English: seeing one means a gap."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {m.id for m in catalog if isinstance(m.id, str) and m.id and m.string and m.string != m.id
            and len(m.id) > 6 and "%(" not in m.id} - PROPER_NAMES


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_lesson_page_renders_with_its_title_and_no_missing_translation(content_client, sources, lang):
    english = english_interface_strings(lang)
    checked = 0
    for course in sources:
        for module in course.modules:
            for lesson in module.lessons:
                response = content_client.get(f"/{lang}/courses/{course.id}/lessons/{lesson.id}")
                assert response.status_code == 200, (course.id, lesson.id)
                html = response.text
                title = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
                assert title == lesson.title[lang].replace("'", "&#39;").replace('"', "&#34;")
                visible = re.sub(r"<[^>]+>", " ", html)
                leaked = [s for s in english if s in visible]
                assert leaked == [], (lesson.id, leaked[:3])
                assert '<aside class="key-ideas">' in html and "<h2>Key ideas</h2>" not in html
                checked += 1
    assert checked == sum(len(m.lessons) for c in sources for m in c.modules) >= 60


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_image_and_glossary_link_of_the_courses_resolves(content_client, sources, lang):
    glossary = content_client.get(f"/{lang}/glossary").text
    for course in sources:
        for module in course.modules:
            for lesson in module.lessons:
                html = content_client.get(f"/{lang}/courses/{course.id}/lessons/{lesson.id}").text
                for term in re.findall(rf'href="/{lang}/glossary#([^"]+)"', html):
                    assert f'id="{term}"' in glossary
                for src in re.findall(r'<img src="([^"]+)"', html):
                    assert content_client.get(src).status_code == 200, src
