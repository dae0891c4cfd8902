"""Apple's device feed as an MDM reads it: fetch, sync and details pages (spec §6.2–§6.7, §8).

Builds on the device record (`dep_emulator.devices`: the events its writers append) and on the
session that authenticates the caller. Holds the read side only: keyset pages built by PostgreSQL
(`read`, with the wire JSON in SQL from `wire_sql`), signed stateless cursors (`cursors`), Apple's
request and response shapes for the OpenAPI document (`schemas`) and the DEP routes (`router`).
"""
