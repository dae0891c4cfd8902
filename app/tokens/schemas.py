from __future__ import annotations

from pydantic import BaseModel, Field


class OAuthCredentialsOut(BaseModel):
    """The decrypted token JSON (spec §3.4), the shape nanodep's `OAuth1Tokens` reads."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_secret: str
    access_token_expiry: str = Field(description="YYYY-MM-DDTHH:MM:SSZ on the emulator clock.")
