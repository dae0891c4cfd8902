"""Blueprints and Configurations as Apple Business stores them, with Apple's write rules
(abm-api-2.md §2.6, §2.7, §3) and the audit events those writes leave."""
