"""Display names of regions, categories and roles (message ids, translated where shown)."""
from gennation.platform.i18n import N_

REGION_NAMES = {
    "astana": N_("Astana"),
    "almaty_city": N_("Almaty"),
    "shymkent": N_("Shymkent"),
    "abai": N_("Abai region"),
    "akmola": N_("Akmola region"),
    "aktobe": N_("Aktobe region"),
    "almaty_region": N_("Almaty region"),
    "atyrau": N_("Atyrau region"),
    "east_kazakhstan": N_("East Kazakhstan region"),
    "jambyl": N_("Jambyl region"),
    "jetisu": N_("Jetisu region"),
    "karaganda": N_("Karaganda region"),
    "kostanay": N_("Kostanay region"),
    "kyzylorda": N_("Kyzylorda region"),
    "mangystau": N_("Mangystau region"),
    "north_kazakhstan": N_("North Kazakhstan region"),
    "pavlodar": N_("Pavlodar region"),
    "turkistan": N_("Turkistan region"),
    "ulytau": N_("Ulytau region"),
    "west_kazakhstan": N_("West Kazakhstan region"),
}

CATEGORY_NAMES = {
    "school_student": N_("School student"),
    "tvet_student": N_("College (TVET) student"),
    "university_student": N_("University student"),
    "adult": N_("Adult learner"),
    "civil_servant": N_("Civil servant"),
}

ROLE_NAMES = {
    "learner": N_("Learner"),
    "teacher": N_("Teacher"),
    "civil_servant": N_("Civil servant"),
    "organiser": N_("Tournament organiser"),
    "admin": N_("Administrator"),
}

INSTITUTION_KIND_NAMES = {
    "school": N_("Schools"),
    "college": N_("Colleges (TVET)"),
    "university": N_("Universities"),
    "state_body": N_("State bodies"),
    "other": N_("Other organisations"),
}
