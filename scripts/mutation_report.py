"""`make mutation`: runs mutmut over the ledger, tier, referral and audit rules and
prints each target's score and its surviving mutants.

The targets (which functions of which module count, as mutmut mutant-name globs) are
in pyproject.toml under [tool.loyalty.mutation], so a moved module is one edit there.
Exits 1 when a target is below the required score, so a lost test shows up, or when a
mutant listed as equivalent ([tool.loyalty.mutation.equivalent]) is killed or gone: the
list must describe the code as it is.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

RESULT = re.compile(r"^\s+(\S+__mutmut_\d+): (.+)$")


def main() -> int:
    config = tomllib.loads(Path("pyproject.toml").read_text("utf-8"))["tool"]["loyalty"]
    settings = config["mutation"]
    targets: dict[str, list[str]] = settings["targets"]
    required = float(settings.get("required_score", 95))
    globs = sorted({glob for patterns in targets.values() for glob in patterns})
    started = time.monotonic()
    run = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "run", *globs])
    if run.returncode != 0:
        print("mutmut run failed", file=sys.stderr)
        return run.returncode
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    status = {m.group(1): m.group(2) for m in map(RESULT.match, listed.splitlines()) if m}
    equivalent = set(settings.get("equivalent", {}).get("names", []))
    stale = sorted(n for n in equivalent if status.get(n) not in ("survived", "no tests"))
    failing = bool(stale)
    print(f"\nMutation testing ({time.monotonic() - started:.0f} s)")
    for target, patterns in targets.items():
        names = sorted(n for n in status if any(fnmatch.fnmatchcase(n, p) for p in patterns))
        # "no tests" counts as surviving: nothing would notice the mutant.
        alive = [n for n in names if status[n] != "killed"]
        same = [n for n in alive if n in equivalent]
        real = [n for n in alive if n not in equivalent]
        scored = len(names) - len(same)
        score = 100.0 * (scored - len(real)) / scored if scored else 100.0
        failing |= score < required
        print(
            f"  {target}: {len(names) - len(alive)}/{len(names)} killed, "
            f"{len(same)} equivalent: score {score:.1f} % of {scored}"
        )
        for name in real:
            print(f"      {status[name]:<10} {name}    (mutmut show {name})")
    for name in stale:
        print(f"  listed as equivalent but {status.get(name, 'not a mutant')}: {name}")
    print(
        f"Required: {required:.0f} % per target, equivalent mutants left out (the score is "
        "killed / (all - equivalent)); each is explained in docs/mutation-survivors.md."
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
