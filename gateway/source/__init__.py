"""The source org: the connection (the only code that talks to an org), the in-process transport, the
embedded demo org."""
