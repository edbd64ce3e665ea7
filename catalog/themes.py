"""The controlled vocabulary of dataset themes: the EU Data Theme list used by DCAT-AP."""

from __future__ import annotations

# our name -> the EU data-theme code (for the DCAT export)
THEMES: dict[str, str] = {
    "agriculture": "AGRI",
    "economy": "ECON",
    "education": "EDUC",
    "energy": "ENER",
    "environment": "ENVI",
    "government": "GOVE",
    "health": "HEAL",
    "international": "INTR",
    "justice": "JUST",
    "regions": "REGI",
    "science": "TECH",
    "society": "SOCI",
    "transport": "TRAN",
}
