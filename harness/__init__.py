"""breakfix: hands-on break/fix labs for cloud and infrastructure engineers."""

__version__ = "0.1.0"
