"""A hand-computed world of three regions (Astana, Abai, Ulytau) for the indicators' tests.

2026 (cumulative): Astana 12 completers (2 of them in 2025) of 1,200 people; Abai 25 of 500; Ulytau 3 of 300;
the 17 other units 1,000 people each and nobody: 40 of 19,000 nationally. Astana also has 3 learners who
enrolled and did not finish. Every completer holds a valid certificate of that completion. Universities and colleges: Abai has U1 (adopted the course in 2025), U2 (a
learner of it completed in 2026) and the college C1; Astana the college C2: 2 of 4. The agency in Astana has
5 confirmed employees (2 completed) and 1 unconfirmed. Teachers: 2 in Astana. School students: grade 9: 8
(Astana), grade 10: 14 and grade 11: 10 (Abai). Enrolments: 47 (Astana 19), completions 40."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlmodel import select

from gennation.certificates.models import Certificate
from gennation.courses.models import Course, CourseCompletion, Enrollment
from gennation.platform.accounts.models import REGIONS, Category, Role, User
from gennation.platform.agencies.models import Employee
from gennation.platform.institutions.models import Adoption, Institution, InstitutionKind
from gennation.platform.metrics.regions import ISO_CODES

NOW = datetime(2026, 6, 1, tzinfo=UTC)
IN_2025, IN_2026 = datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
POPULATION = {region: 1000 for region in REGIONS} | {"astana": 1200, "abai": 500, "ulytau": 300}


def population_csv(year: int = 2026, source: str = "Bureau of National Statistics", published: str = "2026-02-01",
                   population: dict | None = None) -> str:
    rows = [f"{year},{ISO_CODES[region]},{count},{source},{published}"
            for region, count in (population or POPULATION).items()]
    return "year,region,population,source,source_date\n" + "\n".join(rows) + "\n"


def build(session) -> dict:
    course = session.exec(select(Course).where(Course.slug == "test-course")).one()
    u1 = Institution(name="U1", name_ru="U1", kind=InstitutionKind.university, region="abai")
    u2 = Institution(name="U2", name_ru="U2", kind=InstitutionKind.university, region="abai")
    c1 = Institution(name="C1", name_ru="C1", kind=InstitutionKind.college, region="abai")
    c2 = Institution(name="C2", name_ru="C2", kind=InstitutionKind.college, region="astana")
    agency = Institution(name="Агенттік", name_ru="Агентство", kind=InstitutionKind.state_body, region="astana")
    session.add_all([u1, u2, c1, c2, agency])
    session.flush()
    session.add(Adoption(institution_id=u1.id, course_slug="test-course", programme="AI", since=date(2025, 9, 1)))
    number = 0

    def person(region, category=Category.adult, role=Role.learner, grade=None, institution=None, when=IN_2026,
               completes=True):
        nonlocal number
        number += 1
        user = User(username=f"p{number}", username_skeleton=f"p{number}", password_hash="x", display_name="P",
                    region=region, category=category, role=role, school_grade=grade,
                    institution_id=institution.id if institution else None)
        session.add(user)
        session.flush()
        session.add(Enrollment(user_id=user.id, course_id=course.id, enrolled_at=when,
                               completed_at=when if completes else None))
        if completes:  # each completer also holds the certificate issued from it (the "certified" figures)
            completion = CourseCompletion(user_id=user.id, course_id=course.id, content_version="v", completed_at=when)
            session.add(completion)
            session.flush()
            session.add(Certificate(public_id=str(uuid.uuid4()), code=f"GN-{number:04d}-TEST",
                                    source=f"course-completion:{completion.id}", user_id=user.id, holder_name="P",
                                    course_slug="test-course", title={"kk": "К", "ru": "К"}, issued_on=when.date()))
        return user

    astana = [person("astana", Category.school_student, grade=9, when=IN_2025 if i < 2 else IN_2026) for i in range(8)]
    astana += [person("astana", role=Role.teacher) for _ in range(2)]
    astana += [person("astana", Category.civil_servant) for _ in range(2)]
    for _ in range(3):
        person("astana", completes=False)
    person("abai", Category.university_student, institution=u2)
    for _ in range(14):
        person("abai", Category.school_student, grade=10)
    for _ in range(10):
        person("abai", Category.school_student, grade=11)
    for _ in range(3):
        person("ulytau")
    staff = astana[10:12] + [person("astana", Category.civil_servant, completes=False) for _ in range(4)]
    for i, employee in enumerate(staff):
        session.add(Employee(institution_id=agency.id, user_id=employee.id, department="D",
                             confirmed_at=None if i == 5 else IN_2025))
    session.flush()
    return {"agency": agency.id, "course": course.id}


def tournament_world(session, var_dir) -> dict:
    """A tournament season: 12 pupils in Astana and 3 adults in Shymkent in the qualifier, 2 of the pupils
    advanced to a scheduled regional stage."""
    from datetime import timedelta
    from gennation.platform.database import utcnow
    from gennation.tournament import service as tournament
    from gennation.tournament.models import Advancement, StageKind, StageStatus
    from tests.tournament import builders
    made = builders.season(session, var_dir)
    pupils = [tournament.register(session, builders.person(session, f"ind-pupil-{n}", grade=6, region="astana"),
                                  made["season"], "grades-5-8") for n in range(12)]
    for n in range(3):
        tournament.register(session, builders.person(session, f"ind-adult-{n}", category="adult", grade=None,
                                                     region="shymkent"), made["season"], "adults")
    made["regional"] = builders.stage(session, made["season"], 2, StageKind.regional, utcnow() + timedelta(days=3),
                                      StageStatus.scheduled)
    session.add_all([Advancement(stage_id=made["regional"].id, participant_id=p.id, rank=n + 1, points=50.0)
                     for n, p in enumerate(pupils[:2])])
    session.flush()
    return made
