"""Where things are in a repository folder: the settings file, the record folders, the local
cache. Shared by the repository and the index cache (and nothing else decides it)."""

CONFIG_NAME = "dealcli.yaml"
CACHE_DIR = ".dealcli"
INDEX_NAME = "index.sqlite"  # the index cache inside CACHE_DIR (storage/index.py)
KINDS = (
    "deals",
    "pipelines",
    "companies",
    "contacts",
    "leads",
    "quotes",
    "products",
    "activities",
    "recurring",
    "generators",
)
SINGULAR = {
    "deals": "deal",
    "pipelines": "pipeline",
    "companies": "company",
    "contacts": "contact",
    "leads": "lead",
    "quotes": "quote",
    "products": "product",
    "activities": "activity",
    "recurring": "recurring deal template",
    "generators": "generator",
}
SUFFIX = ".yaml"
