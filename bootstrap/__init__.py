"""The composition root: the write side and the read side, built once from settings.

Entry points (the CLI, `serve`, the demo) and the HTTP app get both from here, so
neither the service layer nor the projections build the other's parts: the service
knows nothing of read models, and the projections are handed the application and
view store they read.
"""

from dataclasses import dataclass

from projections.read_side import ReadSide
from service.settings import Settings
from service.system import System


@dataclass
class Services:
    system: System
    read: ReadSide

    @classmethod
    def open(cls, settings: Settings | None = None) -> "Services":
        return cls.around(System.open(settings))

    @classmethod
    def around(cls, system: System) -> "Services":
        """The read side of a system someone else opened (and will close)."""
        return cls(system, ReadSide.open(system.app))

    def close(self) -> None:
        self.read.close()
        self.system.close()
