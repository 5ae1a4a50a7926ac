"""dealcli: a scriptable command-line CRM for deals, one YAML file per record."""

__version__ = "0.1.0"
FORMAT_VERSION = 1
