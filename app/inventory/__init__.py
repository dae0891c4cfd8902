"""An org's device inventory as its admin sees and changes it (spec §7, the portal's Devices page).

`service` is the one writer of devices that every route calls (control API, console, Business
Manager activities, DEP disown, seed files): add, generate, import, assign, modify, release,
replace. The op_type rules of assignment live in `assignments`; the set-based work is
dep_emulator.bulk's. The reads: one device (`views`), the list (`listing`), the assignment history
(`history`); the control API's device routes (`router`).
"""
