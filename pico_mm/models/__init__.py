"""PiCo model parts, registered in mmselfsup's ``MODELS`` on import."""
from .necks import *  # noqa: F401,F403
