"""A device's AppleCare+ contracts (issue 29 item 11): stored, listed by the Business API after the
Limited Warranty, and each one added or removed is an audit event."""
