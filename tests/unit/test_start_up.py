"""What every `loyalty` command, worker and server imports on start-up stays light:
scipy (0.25 s) is imported only by the prediction fits and forecasts that use it."""

import subprocess
import sys


def test_starting_up_imports_every_area_but_not_scipy():
    probe = (
        "import sys, api.cli, api.schema, api.worker\n"
        "from persistence.repositories import import_areas\n"
        "import_areas()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
