#!/bin/sh
# A runbook that restores nothing and says all is well: faultline rehearse must fail it.
echo "checked the dashboards: all green"
exit 0
