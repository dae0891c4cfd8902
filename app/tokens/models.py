from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base


class OAuthToken(Base):
    """One downloaded server token's access token and secret.

    Rows are never deleted: a superseded token must still be recognised so that
    `/session` can answer `token_rejected` (spec §4.7) rather than "unknown".
    """

    __tablename__ = "oauth_token"
    __table_args__ = (
        # At most one current token per server.
        Index(
            "uq_oauth_token_current",
            "server_id",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("mdm_server.id", ondelete="CASCADE"), index=True)
    access_token: Mapped[str] = mapped_column(String(128), unique=True)
    access_secret: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
