#!/bin/sh
# A runbook that waits on someone who never answers: faultline rehearse stops it, and every process
# it started, when its budget is spent. Its process ids go to the work folder, so a test can check.
echo "paging the storage team; waiting for an answer"
sleep 600 &
echo "$$ $!" >"$FAULTLINE_WORKDIR/pids"
wait
