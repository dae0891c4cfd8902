"""An org's people as Apple Business keeps them: organizational units, users with their roles per
unit, user groups and their members (abm-api-2.md §2.3, §2.4). Written here only; the Business API
reads them (dep_emulator.abm.people)."""
