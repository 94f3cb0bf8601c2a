"""distribute: one press release, written once, out to every outlet at the right moment."""

__version__ = "0.1.0"
