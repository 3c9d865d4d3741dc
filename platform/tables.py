"""Imports every domain's tables so that SQLModel.metadata (and Alembic) sees the whole schema."""
from gennation.certificates import models as certificates_models  # noqa: F401
from gennation.courses import models as courses_models  # noqa: F401
from gennation.platform.accounts import models as accounts_models  # noqa: F401
from gennation.platform.agencies import models as agencies_models  # noqa: F401
from gennation.platform.audit import models as audit_models  # noqa: F401
from gennation.platform.institutions import models as institutions_models  # noqa: F401
from gennation.platform.metrics import models as metrics_models  # noqa: F401
from gennation.tournament import models as tournament_models  # noqa: F401
from gennation.tutor import models as tutor_models  # noqa: F401
from sqlmodel import SQLModel

metadata = SQLModel.metadata
