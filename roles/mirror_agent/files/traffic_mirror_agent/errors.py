"""The agent's one exception for host and kernel problems."""


class AgentError(Exception):
    """A problem applying to or reading the kernel; the message is for people."""
