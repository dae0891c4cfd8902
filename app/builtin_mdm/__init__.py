"""Apple's built-in device management (abm-api-2.md §4.1): which devices it manages and their
Activation Lock status, over the devices the emulator already has."""
