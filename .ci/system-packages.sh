#!/bin/sh
# System packages for the tests that need them (Debian/Ubuntu, as root): a single-node Slurm with munge
# (tests/test_slurm.py, tests/test_faults.py; bring-up in tests/slurmlab.py) and headless Chromium
# (tests/test_report_html.py). Without them those tests are skipped, each with its reason.
set -eu
if [ "$(id -u)" != 0 ]; then
  echo "system-packages: run as root (apt-get install)" >&2
  exit 1
fi
# Package scripts would start the daemons (munge, slurmctld, slurmd) on install; the tests start their own.
own_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  own_policy=1
fi
status=0
apt-get update -qq || status=$?
if [ "$status" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurm-wlm slurmctld slurmd slurm-client munge chromium >/dev/null || status=$?
fi
[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
exit "$status"
