#!/bin/sh
# archive_command = '/usr/local/bin/archive-wal.sh %p %f'
# $1: the segment's path (%p), $2: its file name (%f).
set -eu
ARCHIVE=/mnt/server/archivedir

# Never write over an archived segment (PostgreSQL's documentation asks for this).
if [ -f "$ARCHIVE/$2" ]; then
  echo "archive-wal.sh: $ARCHIVE/$2 already exists" >&2
  exit 1
fi

cp "$1" "$ARCHIVE/$2.tmp"
sync "$ARCHIVE/$2.tmp"
mv "$ARCHIVE/$2.tmp" "$ARCHIVE/$2"
# A new name is durable only once its directory is: sync the directory that holds it.
sync "$ARCHIVE"
