#!/bin/sh
# Finds the database through the run's VM list.
set -eu
db=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"]["db"][0]["ipv4"][0])' "$SLIPSTREAM_RUN_JSON")
echo "web $SLIPSTREAM_INDEX uses the database at $db"
