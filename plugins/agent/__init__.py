"""Agent plugins: how to launch, resume, observe and talk to each kind of coding agent."""

__all__: list[str] = []
