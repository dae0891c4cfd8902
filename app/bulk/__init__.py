"""The set-based writers: many devices changed in a handful of statements (issues 3 and 14).

Generated devices COPYed in chunks (`generation`, rows built in a worker by `copy_rows`), listed
devices streamed in and staged (`importing`), assignment and release over a temporary plan table
(`assign`, `release`) and migration deadlines (`deadlines`). Each writes the same rows a change of
one device would: the device, its feed events (dep_emulator.devices.events), its history and its
audit rows, under the lock order of dep_emulator.devices.locking. Called by `inventory`, never by
a router directly.
"""
