"""Imports every domain's tables so that SQLModel.metadata (and Alembic) sees the whole schema."""
from gennation.courses import models as courses_models  # noqa: F401
from gennation.platform.accounts import models as accounts_models  # noqa: F401
from gennation.platform.institutions import models as institutions_models  # noqa: F401
from gennation.tutor import models as tutor_models  # noqa: F401
from sqlmodel import SQLModel

metadata = SQLModel.metadata
