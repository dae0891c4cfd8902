"""The device record: what a device is and how every writer changes it.

The tables (`models`), the control API's device shapes (`schemas`), the deterministic generator,
Apple's Device object (`wire`), the one lock order every writer takes (`locking`), the change log
each change appends to its server's feed in the same transaction (`events`), and the org's audit
rows (`audit`). Every domain that touches a device builds on this room; it imports no domain but
the ground floor (`core`) and the clock. The inventory's writes live in `inventory` and `bulk`,
Apple's read of the change log in `feed`.
"""
