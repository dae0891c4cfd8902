"""Every table, imported in one place for Alembic and the mapper configuration."""

from app.clock.models import EmulatorClock
from app.core.db import Base
from app.orgs.models import MdmServer, Org
from app.session.models import AuthSession, OAuthNonce
from app.tokens.models import OAuthToken

__all__ = ["AuthSession", "Base", "EmulatorClock", "MdmServer", "OAuthNonce", "OAuthToken", "Org"]
